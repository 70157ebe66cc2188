namespace ZeroDisk.NbdHost.Tests.Repair;

/// <summary>
/// repair-tmp-outage, for a primary and (symmetrically) a slave engine: only the dirty blocks are
/// copied, deletes included, the completion line is printed, and the two sides are identical afterwards.
/// </summary>
public sealed class When_an_engine_returns_after_a_temporary_outage(ITestOutputHelper output) : StorageHarnessTest(output)
{
    private const int Blocks = 200;
    protected override StorageOptions Options => StorageHarness.TestStorageOptions with
    {
        RecentWriteWindow = TimeSpan.FromMilliseconds(300),
    };

    [Theory]
    [InlineData(ClusterSide.Primary)]
    [InlineData(ClusterSide.Slave)]
    public async Task Only_the_dirty_blocks_are_copied_and_both_sides_end_identical(ClusterSide side)
    {
        var model = new VdiskModel(H.Vdisk, Blocks);
        for (var i = 0; i < Blocks; i++) await model.WriteAsync(i, 1);
        await Task.Delay(H.Options.RecentWriteWindow + TimeSpan.FromMilliseconds(100)); // outside the crash window
        var engine = H.Engines(side)[0];
        var twin = H.Engines(side == ClusterSide.Primary ? ClusterSide.Slave : ClusterSide.Primary)[0];

        await engine.KillAsync();
        // 20 blocks of shard 0 rewritten and one zeroed while the engine is down: 21 dirty blocks.
        for (var i = 0; i < 40; i += 2) await model.WriteAsync(i, 2);
        await model.ZeroAsync(100);
        Assert.Equal(21, await H.Inspect(twin).SetLengthAsync(H.DirtyKey(engine)));

        await engine.RestartAsync();
        await H.SetStateAsync(side, 0, EngineState.Offline);
        Assert.Equal(SlotUse.Stale, H.Vdisk.Topology.Slot(0, side).Use);
        await H.SetStateAsync(side, 0, EngineState.RepairTmpOutage);

        await H.Events.WaitForAsync($"{{\"type\": \"repair-tmp-outage-complete\", \"data\": {{\"address\": \"{engine.Address}\", \"vdiskid\": \"{H.VdiskId}\"}}}}", TimeSpan.FromSeconds(20));
        Assert.Contains(H.Logs.Lines, l => l.Contains($"repair tmp of vdisk {H.VdiskId} for {engine.Address} complete: 21/21 blocks"));
        Assert.Equal(0, await H.Inspect(twin).SetLengthAsync(H.DirtyKey(engine)));
        var repaired = (await H.Inspect(engine).HashGetAllAsync(H.BlocksKey)).OrderBy(e => (long)e.Name).ToList();
        var complete = (await H.Inspect(twin).HashGetAllAsync(H.BlocksKey)).OrderBy(e => (long)e.Name).ToList();
        Assert.Equal(complete.Select(e => ((long)e.Name, (byte[])e.Value!)), repaired.Select(e => ((long)e.Name, (byte[])e.Value!)));
        Assert.False(await H.Inspect(engine).HashExistsAsync(H.BlocksKey, 100));
        Assert.Equal(SlotUse.Serve, H.Vdisk.Topology.Slot(0, side).Use);
        Assert.Equal(model.ExpectedMd5(), await VdiskModel.Md5Async(H.Vdisk, Blocks));

        // Back in service: new writes reach it again.
        await model.WriteAsync(42, 3);
        Assert.Equal(model.Expected(42), (byte[]?)await H.Inspect(engine).HashGetAsync(H.BlocksKey, 42));
    }
}
