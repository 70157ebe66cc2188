using System.Diagnostics;

namespace ZeroDisk.NbdHost.Tests.Failover;

/// <summary>
/// Four writers run while a primary engine is SIGKILLed: no I/O fails, the failure is reported once, every block
/// written meanwhile is in the engine's dirty set on the slave, and everything reads back. The scenario of the tests
/// of an engine death under writes, whatever path the block size sends the writes by.
/// </summary>
public static class WritersThroughAnEngineDeath
{
    public static async Task RunAsync(StorageHarness h, int blocks, ITestOutputHelper output)
    {
        var model = new VdiskModel(h.Vdisk, blocks);
        for (var i = 0; i < blocks; i++) await model.WriteAsync(i, 1);
        var dead = h.Clusters.Primary[0];
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
                for (long b = writer; b < blocks && !stop.IsCancellationRequested; b += 4)
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
        Assert.Equal([failureLine], h.Events.Lines);
        var dirty = (await h.Inspect(h.Clusters.Slave[0]).SetMembersAsync(h.DirtyKey(dead))).Select(v => (long)v).ToHashSet();
        Assert.Superset(writtenAfterKill.Where(b => b % 2 == 0).ToHashSet(), dirty);
        // Those blocks were in the shard's recent-write window too, which the failure marked dirty as a whole: a block
        // written first now, long after the failure was seen, is marked by the write itself, on the complete side.
        var fresh = blocks + blocks % 2; // shard 0, the dead engine's
        await h.Vdisk.WriteAsync(fresh * h.BlockSize, TestBlocks.Content(fresh, h.BlockSize), false, default);
        Assert.True(await h.Inspect(h.Clusters.Slave[0]).SetContainsAsync(h.DirtyKey(dead), fresh), $"block {fresh}, written after the failure, is not in the dead engine's dirty set");
        Assert.Equal(model.ExpectedMd5(), await VdiskModel.Md5Async(h.Vdisk, blocks));
        for (var b = 0; b < blocks; b += 2)
            Assert.Equal(model.Expected(b), (byte[]?)await h.Inspect(h.Clusters.Slave[0]).HashGetAsync(h.BlocksKey, b));
    }
}
