namespace ZeroDisk.NbdHost.Tests.Repair;

/// <summary>
/// What a server leaves behind when both engines of a shard fail close together: the slave had finished its tmp repair
/// in that server (still repair-tmp-outage in etcd, which waits for every vdisk), then served alone while the primary
/// stalled, so the primary is named stale in a dirty set on the slave while etcd still calls it online. A fresh server
/// must believe the dirty set, not etcd: it never reads the primary, completes the slave's repair without a copy (the
/// slave misses nothing) and serves from it; once etcd brings the slave online, it reports the primary again, so the
/// control plane, which refused that report while the slave was not serving, hears of it.
/// </summary>
public sealed class When_the_source_of_a_repair_is_stale_itself(ITestOutputHelper output) : IAsyncLifetime
{
    private StorageHarness _h = null!;

    public async Task InitializeAsync() => _h = await StorageHarness.StartAsync(shards: 2);

    public async Task DisposeAsync()
    {
        foreach (var line in _h.Logs.Lines) output.WriteLine(line);
        await _h.DisposeAsync();
    }

    [Fact]
    public async Task The_repaired_side_serves_and_the_stale_side_is_reported_again()
    {
        var primary = _h.Clusters.Primary[0];
        var slave = _h.Clusters.Slave[0];
        var model = new VdiskModel(_h.Vdisk, 8);
        for (var i = 0; i < 8; i++) await model.WriteAsync(i, 1);
        await _h.StopServerAsync();

        var newer = TestBlocks.Content(2, _h.BlockSize, generation: 2);
        await _h.Inspect(slave).HashSetAsync(_h.BlocksKey, 2, newer);
        await _h.Inspect(slave).SetAddAsync(_h.DirtyKey(primary), 2);
        await _h.PutStateAsync(ClusterSide.Slave, 0, EngineState.RepairTmpOutage);
        await _h.StartServerAsync();

        var failure = $"{{\"type\": \"storageengine-failure\", \"data\": \"{primary.Address}\"}}";
        await _h.Events.WaitForAsync($"{{\"type\": \"repair-tmp-outage-complete\", \"data\": {{\"address\": \"{slave.Address}\", \"vdiskid\": \"{_h.VdiskId}\"}}}}",
            TimeSpan.FromSeconds(20));
        Assert.Equal(SlotUse.Stale, _h.Vdisk.Topology.Slot(0, ClusterSide.Primary).Use);
        Assert.Equal(SlotUse.Serve, _h.Vdisk.Topology.Slot(0, ClusterSide.Slave).Use);
        var back = new byte[_h.BlockSize];
        await _h.Vdisk.ReadAsync(2L * _h.BlockSize, back, default);
        Assert.Equal(newer, back);
        Assert.Single(_h.Events.Lines, failure);

        await _h.SetStateAsync(ClusterSide.Slave, 0, EngineState.Online);
        await Eventually.TrueAsync(() => _h.Events.Lines.Count(l => l == failure) == 2, TimeSpan.FromSeconds(10), "the primary reported again");
        Assert.True(await _h.Inspect(slave).SetContainsAsync(_h.DirtyKey(primary), 2));
    }
}
