namespace ZeroDisk.NbdHost.Tests.Failover;

/// <summary>
/// Found by the fault-schedule checker on a loaded machine (seed 12, engines restarted from older copies): the
/// recent-write window counted a write from its request, so a write that waited longer than the window for its
/// engine's reply had left the window by the time that engine was found failed, although the engine had only just
/// acknowledged it. Here the primary holds its write back for 1.5 s (CLIENT PAUSE WRITE) against a 1 s window, then
/// comes back from a copy of its files taken before that write: the block must be in its dirty set and the temporary
/// repair must put it back.
/// </summary>
public sealed class When_a_slow_write_is_lost_by_its_engine(ITestOutputHelper output) : StorageHarnessTest(output)
{
    private const int Blocks = 16;
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Held = TimeSpan.FromMilliseconds(1500);
    protected override StorageOptions Options => StorageHarness.TestStorageOptions with { RecentWriteWindow = Window };

    [Fact]
    public async Task The_block_is_dirty_for_the_engine_and_repaired()
    {
        var model = new VdiskModel(H.Vdisk, Blocks);
        for (var i = 0; i < Blocks; i++) await model.WriteAsync(i, 1);
        await Task.Delay(Window + TimeSpan.FromMilliseconds(300)); // generation 1 is outside the window
        var primary = H.Clusters.Primary[0];
        var slave = H.Clusters.Slave[0];
        var snapshot = primary.SnapshotDirectory();

        await H.Inspect(primary).ExecuteAsync("CLIENT", "PAUSE", ((long)Held.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture), "WRITE");
        var started = DateTime.UtcNow;
        await model.WriteAsync(0, 2);
        var took = DateTime.UtcNow - started;
        Output.WriteLine($"the held write took {took.TotalMilliseconds:0} ms");
        Assert.True(took > Window, $"the write was held longer than the window ({took.TotalMilliseconds:0} ms)");
        Assert.Equal(model.Expected(0), (byte[]?)await H.Inspect(primary).HashGetAsync(H.BlocksKey, 0));

        // SIGKILL right after its acknowledgement, and the engine comes back without that write.
        await primary.RestartFromSnapshotAsync(snapshot);
        await H.Events.WaitForAsync($"{{\"type\": \"storageengine-failure\", \"data\": \"{primary.Address}\"}}", TimeSpan.FromSeconds(10));
        Assert.Equal(TestBlocks.Content(0, H.BlockSize, 1), (byte[]?)await H.Inspect(primary).HashGetAsync(H.BlocksKey, 0));
        await StorageHarness.WaitUntilAsync(() => H.Inspect(slave).SetContains(H.DirtyKey(primary), 0),
            TimeSpan.FromSeconds(10), "block 0 in the primary's dirty set on the slave");

        await H.SetStateAsync(ClusterSide.Primary, 0, EngineState.Offline);
        await H.SetStateAsync(ClusterSide.Primary, 0, EngineState.RepairTmpOutage);
        await H.Events.WaitForAsync($"{{\"type\": \"repair-tmp-outage-complete\", \"data\": {{\"address\": \"{primary.Address}\", \"vdiskid\": \"{H.VdiskId}\"}}}}", TimeSpan.FromSeconds(30));
        Assert.Equal(model.Expected(0), (byte[]?)await H.Inspect(primary).HashGetAsync(H.BlocksKey, 0));
        Assert.Equal(model.ExpectedMd5(), await H.SideMd5Async(ClusterSide.Primary, Blocks));
    }
}
