using Xunit.Abstractions;
using ZeroDisk.Contracts;
using ZeroDisk.Storage;
using ZeroDisk.NbdHost.Tests.Harness;

namespace ZeroDisk.NbdHost.Tests.Repair;

/// <summary>
/// A tmp repair of 64 MiB of dirty blocks with the default settings, while a client keeps writing: both sides end
/// identical. Prints the resync rate the repair logged.
/// </summary>
public sealed class When_many_blocks_are_resynced(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Blocks = 32768; // 128 MiB, half of it on the shard under repair
    private StorageHarness _h = null!;

    public async Task InitializeAsync() => _h = await StorageHarness.StartAsync(shards: 2);

    public async Task DisposeAsync()
    {
        foreach (var line in _h.Logs.Lines.Where(l => !l.StartsWith("Information", StringComparison.Ordinal))) output.WriteLine(line);
        await _h.DisposeAsync();
    }

    [Fact]
    public async Task Both_sides_end_identical_and_the_rate_is_reported()
    {
        var engine = _h.Clusters.Slave[0];
        await engine.KillAsync();
        await _h.WriteRandomBlocksAsync(Blocks);
        await engine.RestartAsync();
        await _h.SetStateAsync(ClusterSide.Slave, 0, EngineState.Offline);
        await _h.SetStateAsync(ClusterSide.Slave, 0, EngineState.RepairTmpOutage);

        using var stop = new CancellationTokenSource();
        var writer = Task.Run(async () =>
        {
            var block = TestBlocks.Content(0, _h.BlockSize, 7);
            for (long b = 0; !stop.IsCancellationRequested; b = (b + 2) % Blocks)
                await _h.Vdisk.WriteAsync(b * _h.BlockSize, block, false, default);
        });
        await _h.Events.WaitForAsync($"{{\"type\": \"repair-tmp-outage-complete\", \"data\": {{\"address\": \"{engine.Address}\", \"vdiskid\": \"{_h.VdiskId}\"}}}}", TimeSpan.FromSeconds(120));
        await stop.CancelAsync();
        await writer;

        var complete = _h.Logs.Lines.Single(l => l.Contains("repair tmp") && l.Contains("complete:"));
        output.WriteLine(complete);
        Console.WriteLine($"FIGURE {complete[complete.IndexOf("complete:", StringComparison.Ordinal)..]}");
        var primary = (await _h.Inspect(_h.Clusters.Primary[0]).HashGetAllAsync(_h.BlocksKey)).OrderBy(e => (long)e.Name).Select(e => ((long)e.Name, (byte[])e.Value!));
        var repaired = (await _h.Inspect(engine).HashGetAllAsync(_h.BlocksKey)).OrderBy(e => (long)e.Name).Select(e => ((long)e.Name, (byte[])e.Value!));
        Assert.Equal(primary, repaired);
    }
}
