using Xunit.Abstractions;
using ZeroDisk.Contracts;
using ZeroDisk.Storage;
using ZeroDisk.NbdHost.Tests.Harness;
using ZeroDisk.Testing;

namespace ZeroDisk.NbdHost.Tests.Repair;

/// <summary>
/// The real process, SIGKILLed in the middle of a tmp repair and started again: the new process resumes from the
/// dirty set left on the slave, finishes, prints the completion line, and the data is intact on both sides.
/// </summary>
public sealed class When_nbdhost_serve_is_killed_mid_repair(ITestOutputHelper output) : IAsyncLifetime
{
    // Paced to 1 MiB/s in pages of 16 blocks (64 KiB): the 8 MiB repair takes ~8 s, so "a third done" is seen well
    // before the end whatever the machine's speed (unpaced, group commit finished it between two polls).
    private static readonly Dictionary<string, string> SlowRepair = new()
    {
        ["Storage__RepairBatch"] = "4",
        ["Storage__RepairBytesPerSecond"] = "1048576",
    };
    private StorageHarness _h = null!;
    private ServeProcess _serve = null!;

    public async Task InitializeAsync()
    {
        _h = await StorageHarness.StartAsync(shards: 2, inProcessServer: false);
        _serve = await ServeProcess.StartAsync(_h.ServerId, _h.EtcdEndpoints, environment: SlowRepair);
    }

    public async Task DisposeAsync()
    {
        foreach (var line in _serve.StdoutLines.Where(l => l.Contains("repair"))) output.WriteLine(line);
        await _serve.DisposeAsync();
        await _h.DisposeAsync();
    }

    [Fact]
    public async Task The_restarted_server_finishes_the_repair()
    {
        var engine = _h.Clusters.Primary[0];
        var slave = _h.Inspect(_h.Clusters.Slave[0]);
        await QemuIoAsync("write -P 0x11 0 16M");
        await engine.KillAsync();
        await QemuIoAsync("write -P 0x22 0 16M");
        var dirty = await slave.SetLengthAsync(_h.DirtyKey(engine));
        Assert.Equal(2048, dirty); // every block of shard 0 in the 16 MiB

        await engine.RestartAsync();
        await _h.PutStateAsync(ClusterSide.Primary, 0, EngineState.Offline);
        await _h.PutStateAsync(ClusterSide.Primary, 0, EngineState.RepairTmpOutage);
        await StorageHarness.WaitUntilAsync(() => slave.SetLength(_h.DirtyKey(engine)) < dirty * 2 / 3, TimeSpan.FromSeconds(60), "a third of the repair");
        await _serve.KillAsync();
        var left = await slave.SetLengthAsync(_h.DirtyKey(engine));
        Assert.InRange(left, 1, dirty - 1);

        _serve = await ServeProcess.StartAsync(_h.ServerId, _h.EtcdEndpoints);
        await _serve.WaitForStderrAsync($"{{\"type\": \"repair-tmp-outage-complete\", \"data\": {{\"address\": \"{engine.Address}\", \"vdiskid\": \"{_h.VdiskId}\"}}}}", TimeSpan.FromSeconds(120));
        Assert.Contains(_serve.StdoutLines, l => l.Contains($"complete: {left}/{left} blocks"));
        Assert.Equal(0, await slave.SetLengthAsync(_h.DirtyKey(engine)));
        var repaired = (await _h.Inspect(engine).HashGetAllAsync(_h.BlocksKey)).OrderBy(e => (long)e.Name).Select(e => ((long)e.Name, (byte[])e.Value!));
        var complete = (await slave.HashGetAllAsync(_h.BlocksKey)).OrderBy(e => (long)e.Name).Select(e => ((long)e.Name, (byte[])e.Value!));
        Assert.Equal(complete, repaired);
        await _serve.WaitForExportAsync(_h.VdiskId, TimeSpan.FromSeconds(30)); // the repair starts while the vdisk opens
        await QemuIoAsync("read -P 0x22 0 16M");
    }

    private Task QemuIoAsync(string command) => NbdClients.QemuIoAsync(_serve.Uri(_h.VdiskId), command);
}
