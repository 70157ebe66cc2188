namespace ZeroDisk.NbdHost.Tests.Repair;

/// <summary>
/// What a server leaves behind when both engines of a shard fail close together: the slave had finished its tmp repair
/// in that server (still repair-tmp-outage in etcd, which waits for every vdisk), then served alone while the primary
/// stalled, so the primary is named stale in a dirty set on the slave while etcd still calls it online. A fresh server
/// must believe the dirty set, not etcd: it never reads the primary, completes the slave's repair without a copy (the
/// slave misses nothing) and serves from it; once etcd brings the slave online, it reports the primary again, so the
/// control plane, which refused that report while the slave was not serving, hears of it.
/// </summary>
public sealed class When_the_source_of_a_repair_is_stale_itself(ITestOutputHelper output) : StorageHarnessTest(output)
{
    [Fact]
    public async Task The_repaired_side_serves_and_the_stale_side_is_reported_again()
    {
        var primary = H.Clusters.Primary[0];
        var slave = H.Clusters.Slave[0];
        var model = new VdiskModel(H.Vdisk, 8);
        for (var i = 0; i < 8; i++) await model.WriteAsync(i, 1);
        await H.StopServerAsync();

        var newer = TestBlocks.Content(2, H.BlockSize, generation: 2);
        await H.Inspect(slave).HashSetAsync(H.BlocksKey, 2, newer);
        await H.Inspect(slave).SetAddAsync(H.DirtyKey(primary), 2);
        await H.PutStateAsync(ClusterSide.Slave, 0, EngineState.RepairTmpOutage);
        await H.StartServerAsync();

        var failure = $"{{\"type\": \"storageengine-failure\", \"data\": \"{primary.Address}\"}}";
        await H.Events.WaitForAsync($"{{\"type\": \"repair-tmp-outage-complete\", \"data\": {{\"address\": \"{slave.Address}\", \"vdiskid\": \"{H.VdiskId}\"}}}}",
            TimeSpan.FromSeconds(20));
        Assert.Equal(SlotUse.Stale, H.Vdisk.Topology.Slot(0, ClusterSide.Primary).Use);
        Assert.Equal(SlotUse.Serve, H.Vdisk.Topology.Slot(0, ClusterSide.Slave).Use);
        var back = new byte[H.BlockSize];
        await H.Vdisk.ReadAsync(2L * H.BlockSize, back, default);
        Assert.Equal(newer, back);
        Assert.Single(H.Events.Lines, failure);

        await H.SetStateAsync(ClusterSide.Slave, 0, EngineState.Online);
        await Eventually.TrueAsync(() => H.Events.Lines.Count(l => l == failure) == 2, TimeSpan.FromSeconds(10), "the primary reported again");
        Assert.True(await H.Inspect(slave).SetContainsAsync(H.DirtyKey(primary), 2));
    }
}
