using StackExchange.Redis;

namespace ZeroDisk.NbdHost.Tests.Failover;

/// <summary>
/// Failover: a primary engine is SIGKILLed while four writers run. No I/O fails, the failure is reported
/// once, every block written meanwhile is in the engine's dirty set on the slave, and everything reads back.
/// </summary>
public sealed class When_a_primary_engine_dies_during_writes(ITestOutputHelper output) : StorageHarnessTest
{
    private const int Blocks = 256;

    [Fact]
    public Task Writers_see_no_error_and_the_dead_engine_gets_a_dirty_set() => WritersThroughAnEngineDeath.RunAsync(H, Blocks, output);

    [Fact]
    public async Task Both_sides_of_a_shard_down_gives_eio_for_that_shard_only()
    {
        var model = new VdiskModel(H.Vdisk, 8);
        for (var i = 0; i < 8; i++) await model.WriteAsync(i, 1);
        await H.Clusters.Primary[0].KillAsync();
        await H.Clusters.Slave[0].KillAsync();

        var read = await Assert.ThrowsAsync<StorageIoException>(() => H.Vdisk.ReadAsync(0, new byte[H.BlockSize], default).AsTask());
        Assert.Equal(StorageError.Unavailable, read.Error);
        var write = await Assert.ThrowsAsync<StorageIoException>(() => model.WriteAsync(2, 2));
        Assert.Equal(StorageError.Unavailable, write.Error);
        await model.WriteAsync(3, 2);
        var back = new byte[H.BlockSize];
        await H.Vdisk.ReadAsync(3L * H.BlockSize, back, default);
        Assert.Equal(model.Expected(3), back);
        Assert.Equal(2, H.Events.Lines.Count);
    }

    [Fact]
    public async Task An_engine_etcd_calls_online_but_with_a_dirty_set_is_treated_as_failed()
    {
        // The dirty set is the truth: a dirty set left by an earlier process wins over etcd's "online".
        await H.Inspect(H.Clusters.Slave[1]).SetAddAsync(H.DirtyKey(H.Clusters.Primary[1]), 7);
        await H.RestartServerAsync();

        Assert.Contains($"{{\"type\": \"storageengine-failure\", \"data\": \"{H.Clusters.Primary[1].Address}\"}}", H.Events.Lines);
        Assert.Equal(SlotUse.Stale, H.Vdisk.Topology.Slot(1, ClusterSide.Primary).Use);
        await H.Vdisk.WriteAsync(5L * H.BlockSize, TestBlocks.Content(5, H.BlockSize), false, default);
        Assert.False(await H.Inspect(H.Clusters.Primary[1]).HashExistsAsync(H.BlocksKey, 5));
        Assert.True(await H.Inspect(H.Clusters.Slave[1]).SetContainsAsync(H.DirtyKey(H.Clusters.Primary[1]), 5));
    }
}
