using ZeroDisk.Contracts;
using ZeroDisk.Storage;
using ZeroDisk.NbdHost.Tests.Harness;

namespace ZeroDisk.NbdHost.Tests.Repair;

/// <summary>
/// DESIGN §3 repair-tmp-outage, for a primary and (symmetrically) a slave engine: only the dirty blocks are
/// copied, deletes included, the completion line is printed, and the two sides are identical afterwards.
/// </summary>
public sealed class When_an_engine_returns_after_a_temporary_outage(Xunit.Abstractions.ITestOutputHelper output) : IAsyncLifetime
{
    private const int Blocks = 200;
    private StorageHarness _h = null!;

    public async Task InitializeAsync() =>
        _h = await StorageHarness.StartAsync(shards: 2, options: StorageHarness.TestStorageOptions with
        {
            RecentWriteWindow = TimeSpan.FromMilliseconds(300),
        });

    public async Task DisposeAsync()
    {
        foreach (var line in _h.Logs.Lines) output.WriteLine(line);
        await _h.DisposeAsync();
    }

    [Theory]
    [InlineData(ClusterSide.Primary)]
    [InlineData(ClusterSide.Slave)]
    public async Task Only_the_dirty_blocks_are_copied_and_both_sides_end_identical(ClusterSide side)
    {
        var model = new VdiskModel(_h.Vdisk, Blocks);
        for (var i = 0; i < Blocks; i++) await model.WriteAsync(i, 1);
        await Task.Delay(_h.Options.RecentWriteWindow + TimeSpan.FromMilliseconds(100)); // outside the crash window
        var engine = _h.Engines(side)[0];
        var twin = _h.Engines(side == ClusterSide.Primary ? ClusterSide.Slave : ClusterSide.Primary)[0];

        await engine.KillAsync();
        // 20 blocks of shard 0 rewritten and one zeroed while the engine is down: 21 dirty blocks.
        for (var i = 0; i < 40; i += 2) await model.WriteAsync(i, 2);
        await model.ZeroAsync(100);
        Assert.Equal(21, await _h.Inspect(twin).SetLengthAsync(_h.DirtyKey(engine)));

        await engine.RestartAsync();
        await _h.SetStateAsync(side, 0, EngineState.Offline);
        Assert.Equal(SlotUse.Stale, _h.Vdisk.Topology.Slot(0, side).Use);
        await _h.SetStateAsync(side, 0, EngineState.RepairTmpOutage);

        await _h.Events.WaitForAsync($"{{\"type\": \"repair-tmp-outage-complete\", \"data\": {{\"address\": \"{engine.Address}\", \"vdiskid\": \"{_h.VdiskId}\"}}}}", TimeSpan.FromSeconds(20));
        Assert.Contains(_h.Logs.Lines, l => l.Contains($"repair tmp of vdisk {_h.VdiskId} for {engine.Address} complete: 21/21 blocks"));
        Assert.Equal(0, await _h.Inspect(twin).SetLengthAsync(_h.DirtyKey(engine)));
        var repaired = (await _h.Inspect(engine).HashGetAllAsync(_h.BlocksKey)).OrderBy(e => (long)e.Name).ToList();
        var complete = (await _h.Inspect(twin).HashGetAllAsync(_h.BlocksKey)).OrderBy(e => (long)e.Name).ToList();
        Assert.Equal(complete.Select(e => ((long)e.Name, (byte[])e.Value!)), repaired.Select(e => ((long)e.Name, (byte[])e.Value!)));
        Assert.False(await _h.Inspect(engine).HashExistsAsync(_h.BlocksKey, 100));
        Assert.Equal(SlotUse.Serve, _h.Vdisk.Topology.Slot(0, side).Use);
        Assert.Equal(model.ExpectedMd5(), await VdiskModel.Md5Async(_h.Vdisk, Blocks));

        // Back in service: new writes reach it again.
        await model.WriteAsync(42, 3);
        Assert.Equal(model.Expected(42), (byte[]?)await _h.Inspect(engine).HashGetAsync(_h.BlocksKey, 42));
    }
}
