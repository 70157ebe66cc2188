namespace ZeroDisk.NbdHost.Tests.Repair;

/// <summary>
/// A server stopped in the middle of a tmp repair (all its memory lost, as a crash would) resumes on restart from
/// the dirty set: it copies only what was left, and the vdisk ends intact on both sides.
/// </summary>
public sealed class When_the_server_restarts_mid_repair : StorageHarnessTest
{
    private const int Blocks = 4000;
    protected override StorageOptions Options => StorageHarness.TestStorageOptions with
    {
        RepairBatch = 4, // slow enough to stop it halfway
    };

    [Fact]
    public async Task The_repair_resumes_and_copies_only_what_is_left()
    {
        var model = new VdiskModel(H.Vdisk, Blocks);
        var engine = H.Clusters.Primary[0];
        await engine.KillAsync();
        await Task.WhenAll(Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            for (var b = w; b < Blocks; b += 8) await model.WriteAsync(b, 1);
        })));
        var slave = H.Inspect(H.Clusters.Slave[0]);
        var dirtyAtStart = await slave.SetLengthAsync(H.DirtyKey(engine));
        Assert.Equal(Blocks / 2, dirtyAtStart);
        await engine.RestartAsync();
        await H.SetStateAsync(ClusterSide.Primary, 0, EngineState.Offline);
        await H.SetStateAsync(ClusterSide.Primary, 0, EngineState.RepairTmpOutage);

        await StorageHarness.WaitUntilAsync(() => slave.SetLength(H.DirtyKey(engine)) < dirtyAtStart * 2 / 3, TimeSpan.FromSeconds(30), "a third of the repair");
        await H.StopServerAsync();
        var left = await slave.SetLengthAsync(H.DirtyKey(engine));
        Assert.InRange(left, 1, dirtyAtStart - 1);

        await H.StartServerAsync();
        await H.Events.WaitForAsync($"{{\"type\": \"repair-tmp-outage-complete\", \"data\": {{\"address\": \"{engine.Address}\", \"vdiskid\": \"{H.VdiskId}\"}}}}", TimeSpan.FromSeconds(60));
        Assert.Contains(H.Logs.Lines, l => l.Contains($"complete: {left}/{left} blocks"));
        Assert.Equal(model.ExpectedMd5(), await VdiskModel.Md5Async(H.Vdisk, Blocks));
        for (var b = 0; b < Blocks; b += 2)
            Assert.Equal(model.Expected(b), (byte[]?)await H.Inspect(engine).HashGetAsync(H.BlocksKey, b));
    }
}
