namespace ZeroDisk.NbdHost.Tests.Failover;

/// <summary>
/// Durability of engines: a primary engine is SIGKILLed right after writes both sides acknowledged, and
/// comes back without them (appendfsync everysec may lose the last second; here the loss is made certain by
/// restarting it from a copy of its data directory taken before those writes). Nothing recorded them as dirty when
/// they were written; only the recent-write window the server adds to the dirty set when it marks the engine failed
/// does. After offline → repair-tmp-outage the primary itself holds every acknowledged write.
/// </summary>
public sealed class When_a_primary_engine_loses_its_last_second(ITestOutputHelper output) : StorageHarnessTest(output)
{
    private const int Blocks = 64;

    // The in-process server keeps the product's window (3 s): the writes it must cover are a few milliseconds old
    // when the engine dies.

    [Fact]
    public async Task The_temporary_repair_puts_the_acknowledged_writes_back_on_the_primary()
    {
        var model = new VdiskModel(H.Vdisk, Blocks);
        for (var i = 0; i < Blocks; i++) await model.WriteAsync(i, 1);
        await Task.Delay(H.Options.RecentWriteWindow + TimeSpan.FromMilliseconds(300)); // generation 1 is outside the window
        var primary = H.Clusters.Primary[0];
        var slave = H.Clusters.Slave[0];
        var snapshot = primary.SnapshotDirectory(); // the engine's data before the last writes

        // The last writes, all on shard 0, acknowledged by both sides: no dirty set records them.
        long[] last = [0, 2, 4, 6, 10, 20, 40, 62];
        foreach (var b in last) await model.WriteAsync(b, 2);
        foreach (var b in last) Assert.Equal(model.Expected(b), (byte[]?)await H.Inspect(primary).HashGetAsync(H.BlocksKey, b));
        Assert.Equal(0, await H.Inspect(slave).SetLengthAsync(H.DirtyKey(primary)));

        // SIGKILL now, and the engine comes back without its last writes.
        await primary.RestartFromSnapshotAsync(snapshot);
        await H.Events.WaitForAsync($"{{\"type\": \"storageengine-failure\", \"data\": \"{primary.Address}\"}}", TimeSpan.FromSeconds(10));
        foreach (var b in last)
            Assert.Equal(TestBlocks.Content(b, H.BlockSize, 1), (byte[]?)await H.Inspect(primary).HashGetAsync(H.BlocksKey, b));

        // The window went into the dirty set on the slave (recorded asynchronously after the failure is seen).
        var dirty = new HashSet<long>();
        await StorageHarness.WaitUntilAsync(() =>
        {
            dirty = H.Inspect(slave).SetMembers(H.DirtyKey(primary)).Select(v => (long)v).ToHashSet();
            return dirty.IsSupersetOf(last);
        }, TimeSpan.FromSeconds(10), "the recent-write window in the primary's dirty set");
        Output.WriteLine($"dirty set of the primary after its failure: {dirty.Count} blocks: {string.Join(' ', dirty.Order())}");

        await H.SetStateAsync(ClusterSide.Primary, 0, EngineState.Offline);
        await H.SetStateAsync(ClusterSide.Primary, 0, EngineState.RepairTmpOutage);
        await H.Events.WaitForAsync($"{{\"type\": \"repair-tmp-outage-complete\", \"data\": {{\"address\": \"{primary.Address}\", \"vdiskid\": \"{H.VdiskId}\"}}}}", TimeSpan.FromSeconds(30));
        Assert.Equal(0, await H.Inspect(slave).SetLengthAsync(H.DirtyKey(primary)));

        // The vdisk as the primary side alone holds it, read straight from the primary engines.
        Assert.Equal(model.ExpectedMd5(), await H.SideMd5Async(ClusterSide.Primary, Blocks));
        foreach (var b in last) Assert.Equal(model.Expected(b), (byte[]?)await H.Inspect(primary).HashGetAsync(H.BlocksKey, b));
    }
}
