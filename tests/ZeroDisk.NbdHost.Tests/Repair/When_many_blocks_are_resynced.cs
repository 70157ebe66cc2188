namespace ZeroDisk.NbdHost.Tests.Repair;

/// <summary>
/// A tmp repair of 64 MiB of dirty blocks with the default settings, while a client keeps writing: both sides end
/// identical. Prints the resync rate the repair logged.
/// </summary>
public sealed class When_many_blocks_are_resynced(ITestOutputHelper output) : StorageHarnessTest(output)
{
    private const int Blocks = 32768; // 128 MiB, half of it on the shard under repair
    protected override bool ShowsInOutput(string logLine) => !logLine.StartsWith("Information", StringComparison.Ordinal);

    [Fact]
    public async Task Both_sides_end_identical_and_the_rate_is_reported()
    {
        var engine = H.Clusters.Slave[0];
        await engine.KillAsync();
        await H.WriteRandomBlocksAsync(Blocks);
        await engine.RestartAsync();
        await H.SetStateAsync(ClusterSide.Slave, 0, EngineState.Offline);
        await H.SetStateAsync(ClusterSide.Slave, 0, EngineState.RepairTmpOutage);

        using var stop = new CancellationTokenSource();
        var writer = Task.Run(async () =>
        {
            var block = TestBlocks.Content(0, H.BlockSize, 7);
            for (long b = 0; !stop.IsCancellationRequested; b = (b + 2) % Blocks)
                await H.Vdisk.WriteAsync(b * H.BlockSize, block, false, default);
        });
        await H.Events.WaitForAsync($"{{\"type\": \"repair-tmp-outage-complete\", \"data\": {{\"address\": \"{engine.Address}\", \"vdiskid\": \"{H.VdiskId}\"}}}}", TimeSpan.FromSeconds(120));
        await stop.CancelAsync();
        await writer;

        var complete = H.Logs.Lines.Single(l => l.Contains("repair tmp") && l.Contains("complete:"));
        Output.WriteLine(complete);
        Console.WriteLine($"FIGURE {complete[complete.IndexOf("complete:", StringComparison.Ordinal)..]}");
        var primary = (await H.Inspect(H.Clusters.Primary[0]).HashGetAllAsync(H.BlocksKey)).OrderBy(e => (long)e.Name).Select(e => ((long)e.Name, (byte[])e.Value!));
        var repaired = (await H.Inspect(engine).HashGetAllAsync(H.BlocksKey)).OrderBy(e => (long)e.Name).Select(e => ((long)e.Name, (byte[])e.Value!));
        Assert.Equal(primary, repaired);
    }
}
