using ZeroDisk.Contracts;
using ZeroDisk.Storage;
using ZeroDisk.NbdHost.Tests.Harness;

namespace ZeroDisk.NbdHost.Tests.Repair;

/// <summary>
/// A server stopped in the middle of a tmp repair (all its memory lost, as a crash would) resumes on restart from
/// the dirty set: it copies only what was left, and the vdisk ends intact on both sides.
/// </summary>
public sealed class When_the_server_restarts_mid_repair : IAsyncLifetime
{
    private const int Blocks = 4000;
    private StorageHarness _h = null!;

    public async Task InitializeAsync() =>
        _h = await StorageHarness.StartAsync(shards: 2, options: StorageHarness.TestStorageOptions with
        {
            RepairBatch = 4, // slow enough to stop it halfway
        });

    public async Task DisposeAsync() => await _h.DisposeAsync();

    [Fact]
    public async Task The_repair_resumes_and_copies_only_what_is_left()
    {
        var model = new VdiskModel(_h.Vdisk, Blocks);
        var engine = _h.Clusters.Primary[0];
        await engine.KillAsync();
        await Task.WhenAll(Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            for (var b = w; b < Blocks; b += 8) await model.WriteAsync(b, 1);
        })));
        var slave = _h.Inspect(_h.Clusters.Slave[0]);
        var dirtyAtStart = await slave.SetLengthAsync(_h.DirtyKey(engine));
        Assert.Equal(Blocks / 2, dirtyAtStart);
        await engine.RestartAsync();
        await _h.SetStateAsync(ClusterSide.Primary, 0, EngineState.Offline);
        await _h.SetStateAsync(ClusterSide.Primary, 0, EngineState.RepairTmpOutage);

        await StorageHarness.WaitUntilAsync(() => slave.SetLength(_h.DirtyKey(engine)) < dirtyAtStart * 2 / 3, TimeSpan.FromSeconds(30), "a third of the repair");
        await _h.StopServerAsync();
        var left = await slave.SetLengthAsync(_h.DirtyKey(engine));
        Assert.InRange(left, 1, dirtyAtStart - 1);

        await _h.StartServerAsync();
        await _h.Events.WaitForAsync($"{{\"type\": \"repair-tmp-outage-complete\", \"data\": {{\"address\": \"{engine.Address}\", \"vdiskid\": \"{_h.VdiskId}\"}}}}", TimeSpan.FromSeconds(60));
        Assert.Contains(_h.Logs.Lines, l => l.Contains($"complete: {left}/{left} blocks"));
        Assert.Equal(model.ExpectedMd5(), await VdiskModel.Md5Async(_h.Vdisk, Blocks));
        for (var b = 0; b < Blocks; b += 2)
            Assert.Equal(model.Expected(b), (byte[]?)await _h.Inspect(engine).HashGetAsync(_h.BlocksKey, b));
    }
}
