namespace ZeroDisk.NbdHost.Tests.Repair;

/// <summary>
/// The real process, SIGKILLed in the middle of a tmp repair and started again: the new process resumes from the
/// dirty set left on the slave, finishes, prints the completion line, and the data is intact on both sides.
/// </summary>
public sealed class When_nbdhost_serve_is_killed_mid_repair(ITestOutputHelper output) : ServeProcessTest(output)
{
    // Paced to 1 MiB/s in pages of 16 blocks (64 KiB): the 8 MiB repair takes ~8 s, so "a third done" is seen well
    // before the end whatever the machine's speed (unpaced, group commit finished it between two polls).
    protected override IReadOnlyDictionary<string, string> ServeEnvironment { get; } = new Dictionary<string, string>
    {
        ["Storage__RepairBatch"] = "4",
        ["Storage__RepairBytesPerSecond"] = "1048576",
    };

    [Fact]
    public async Task The_restarted_server_finishes_the_repair()
    {
        var engine = H.Clusters.Primary[0];
        var slave = H.Inspect(H.Clusters.Slave[0]);
        await QemuIoAsync("write -P 0x11 0 16M");
        await engine.KillAsync();
        await QemuIoAsync("write -P 0x22 0 16M");
        var dirty = await slave.SetLengthAsync(H.DirtyKey(engine));
        Assert.Equal(2048, dirty); // every block of shard 0 in the 16 MiB

        await engine.RestartAsync();
        await H.PutStateAsync(ClusterSide.Primary, 0, EngineState.Offline);
        await H.PutStateAsync(ClusterSide.Primary, 0, EngineState.RepairTmpOutage);
        await StorageHarness.WaitUntilAsync(() => slave.SetLength(H.DirtyKey(engine)) < dirty * 2 / 3, TimeSpan.FromSeconds(60), "a third of the repair");
        await Serve.KillAsync();
        var left = await slave.SetLengthAsync(H.DirtyKey(engine));
        Assert.InRange(left, 1, dirty - 1);

        Serve = await ServeProcess.StartAsync(H.ServerId, H.EtcdEndpoints); // at full speed
        await Serve.WaitForStderrAsync($"{{\"type\": \"repair-tmp-outage-complete\", \"data\": {{\"address\": \"{engine.Address}\", \"vdiskid\": \"{H.VdiskId}\"}}}}", TimeSpan.FromSeconds(120));
        Assert.Contains(Serve.StdoutLines, l => l.Contains($"complete: {left}/{left} blocks"));
        Assert.Equal(0, await slave.SetLengthAsync(H.DirtyKey(engine)));
        var repaired = (await H.Inspect(engine).HashGetAllAsync(H.BlocksKey)).OrderBy(e => (long)e.Name).Select(e => ((long)e.Name, (byte[])e.Value!));
        var complete = (await slave.HashGetAllAsync(H.BlocksKey)).OrderBy(e => (long)e.Name).Select(e => ((long)e.Name, (byte[])e.Value!));
        Assert.Equal(complete, repaired);
        await Serve.WaitForExportAsync(H.VdiskId, TimeSpan.FromSeconds(30)); // the repair starts while the vdisk opens
        await QemuIoAsync("read -P 0x22 0 16M");
    }
}
