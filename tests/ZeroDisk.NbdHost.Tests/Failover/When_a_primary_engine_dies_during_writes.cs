using System.Diagnostics;
using StackExchange.Redis;
using Xunit.Abstractions;
using ZeroDisk.Contracts;
using ZeroDisk.Storage;
using ZeroDisk.NbdHost.Tests.Harness;

namespace ZeroDisk.NbdHost.Tests.Failover;

/// <summary>
/// DESIGN §3 Failover: a primary engine is SIGKILLed while four writers run. No I/O fails, the failure is reported
/// once, every block written meanwhile is in the engine's dirty set on the slave, and everything reads back.
/// </summary>
public sealed class When_a_primary_engine_dies_during_writes(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Blocks = 256;
    private StorageHarness _h = null!;

    public async Task InitializeAsync() => _h = await StorageHarness.StartAsync(shards: 2);

    public async Task DisposeAsync() => await _h.DisposeAsync();

    [Fact]
    public async Task Writers_see_no_error_and_the_dead_engine_gets_a_dirty_set()
    {
        var model = new VdiskModel(_h.Vdisk, Blocks);
        for (var i = 0; i < Blocks; i++) await model.WriteAsync(i, 1);
        var dead = _h.Clusters.Primary[0];
        var killed = 0;
        var writtenAfterKill = new HashSet<long>();
        var longest = TimeSpan.Zero;
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(2.5));

        async Task WriterAsync(int writer)
        {
            var generation = 1;
            var watch = new Stopwatch();
            while (!stop.IsCancellationRequested)
            {
                generation++;
                // Each writer owns the blocks b with b % 4 == writer, so the expected content is well defined.
                for (long b = writer; b < Blocks && !stop.IsCancellationRequested; b += 4)
                {
                    var afterKill = Volatile.Read(ref killed) == 1;
                    watch.Restart();
                    await model.WriteAsync(b, generation);
                    var elapsed = watch.Elapsed;
                    lock (writtenAfterKill)
                    {
                        if (elapsed > longest) longest = elapsed;
                        if (afterKill) writtenAfterKill.Add(b);
                    }
                }
            }
        }

        var writers = Enumerable.Range(0, 4).Select(w => Task.Run(() => WriterAsync(w))).ToList();
        await Task.Delay(700);
        await dead.KillAsync();
        Volatile.Write(ref killed, 1);
        await Task.WhenAll(writers);
        output.WriteLine($"longest single-block write during the failover: {longest.TotalMilliseconds:F0} ms");

        var failureLine = $"{{\"type\": \"storageengine-failure\", \"data\": \"{dead.Address}\"}}";
        Assert.Equal([failureLine], _h.Events.Lines);
        var dirty = (await _h.Inspect(_h.Clusters.Slave[0]).SetMembersAsync(_h.DirtyKey(dead))).Select(v => (long)v).ToHashSet();
        Assert.Superset(writtenAfterKill.Where(b => b % 2 == 0).ToHashSet(), dirty);
        Assert.Equal(model.ExpectedMd5(), await VdiskModel.Md5Async(_h.Vdisk, Blocks));
        for (var b = 0; b < Blocks; b += 2)
            Assert.Equal(model.Expected(b), (byte[]?)await _h.Inspect(_h.Clusters.Slave[0]).HashGetAsync(_h.BlocksKey, b));
    }

    [Fact]
    public async Task Both_sides_of_a_shard_down_gives_eio_for_that_shard_only()
    {
        var model = new VdiskModel(_h.Vdisk, 8);
        for (var i = 0; i < 8; i++) await model.WriteAsync(i, 1);
        await _h.Clusters.Primary[0].KillAsync();
        await _h.Clusters.Slave[0].KillAsync();

        var read = await Assert.ThrowsAsync<StorageIoException>(() => _h.Vdisk.ReadAsync(0, new byte[_h.BlockSize], default).AsTask());
        Assert.Equal(StorageError.Unavailable, read.Error);
        var write = await Assert.ThrowsAsync<StorageIoException>(() => model.WriteAsync(2, 2));
        Assert.Equal(StorageError.Unavailable, write.Error);
        await model.WriteAsync(3, 2);
        var back = new byte[_h.BlockSize];
        await _h.Vdisk.ReadAsync(3L * _h.BlockSize, back, default);
        Assert.Equal(model.Expected(3), back);
        Assert.Equal(2, _h.Events.Lines.Count);
    }

    [Fact]
    public async Task An_engine_etcd_calls_online_but_with_a_dirty_set_is_treated_as_failed()
    {
        // Invariant 2: a dirty set left by an earlier process wins over etcd's "online".
        await _h.Inspect(_h.Clusters.Slave[1]).SetAddAsync(_h.DirtyKey(_h.Clusters.Primary[1]), 7);
        await _h.RestartServerAsync();

        Assert.Contains($"{{\"type\": \"storageengine-failure\", \"data\": \"{_h.Clusters.Primary[1].Address}\"}}", _h.Events.Lines);
        Assert.Equal(SlotUse.Stale, _h.Vdisk.Topology.Slot(1, ClusterSide.Primary).Use);
        await _h.Vdisk.WriteAsync(5L * _h.BlockSize, TestBlocks.Content(5, _h.BlockSize), false, default);
        Assert.False(await _h.Inspect(_h.Clusters.Primary[1]).HashExistsAsync(_h.BlocksKey, 5));
        Assert.True(await _h.Inspect(_h.Clusters.Slave[1]).SetContainsAsync(_h.DirtyKey(_h.Clusters.Primary[1]), 5));
    }
}
