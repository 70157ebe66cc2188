namespace ZeroDisk.NbdHost.Tests.Failover;

/// <summary>
/// The order of decisions of fault-checker seed 1033: both engines of a shard die 0.16 s apart (the slave first) under
/// writes. The server heals the primary, which failed last, as the shard's last complete side, and records what the
/// slave missed on it. ClusterState, hearing the two failure reports late and in the other order (the broker was
/// down), takes the primary offline (its twin was still online in etcd) and repairs it from the slave. That repair
/// can copy nothing (its source is stale) and needs nothing: it completes without a copy and the shard serves the
/// last writes. Seed 2021 had the same order, and the slave came back with a large dataset: the server's check of it
/// after its restart met it still loading its files (-LOADING), so this process no longer counted it verified, and the
/// repair, which trusted the source's dirty set only on that flag, paused for good. Now the check waits for the engine
/// to load, and the repair asks the source itself whether it is the registered engine (either fix alone passes this).
/// </summary>
public sealed class When_etcd_repairs_the_side_that_healed_as_the_last_complete_one(ITestOutputHelper output) : StorageHarnessTest(output)
{
    [Fact]
    public Task The_repair_completes_without_a_copy_and_the_shard_serves_the_last_writes() =>
        RepairOfTheLastCompleteSideCompletesAsync(slowLoadingSlave: false);

    [Fact]
    public Task Seed_2021_the_repair_completes_although_the_slave_was_still_loading_when_checked_after_its_restart() =>
        RepairOfTheLastCompleteSideCompletesAsync(slowLoadingSlave: true);

    private async Task RepairOfTheLastCompleteSideCompletesAsync(bool slowLoadingSlave)
    {
        var (primary, slave) = (H.Clusters.Primary[0], H.Clusters.Slave[0]);
        if (slowLoadingSlave) await H.GiveALargeDatasetAsync(slave);
        var model = new VdiskModel(H.Vdisk, 8);
        for (var i = 0; i < 8; i++) await model.WriteAsync(i, 1);

        // Writes keep coming while the slave dies, and the primary 0.16 s later, as in the seed's run.
        using var stop = new CancellationTokenSource();
        var generation = 1;
        var writer = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try { await model.WriteAsync(generation % 8, ++generation); } catch (Exception) { await Task.Delay(20); }
            }
        });
        await Task.Delay(200);
        await slave.KillAsync();
        await Task.Delay(160);
        await primary.KillAsync();
        await Task.Delay(1000);
        await Task.WhenAll(primary.RestartAsync(), slowLoadingSlave ? slave.RestartLoadingSlowlyAsync(TimeSpan.FromMilliseconds(1)) : slave.RestartAsync());
        await Eventually.TrueAsync(() => H.Vdisk.Topology.Slot(0, ClusterSide.Primary).Use == SlotUse.Serve, TimeSpan.FromSeconds(30),
            "the primary to heal as the shard's last complete side");
        await stop.CancelAsync();
        await writer;

        // ClusterState's decision, made from the reports in the other order.
        await H.SetStateAsync(ClusterSide.Primary, 0, EngineState.RepairTmpOutage);
        await H.Events.WaitForAsync($"{{\"type\": \"repair-tmp-outage-complete\", \"data\": {{\"address\": \"{primary.Address}\", \"vdiskid\": \"{H.VdiskId}\"}}}}",
            TimeSpan.FromSeconds(30));
        Assert.Equal(SlotUse.Serve, H.Vdisk.Topology.Slot(0, ClusterSide.Primary).Use);
        Assert.NotEqual(SlotUse.Serve, H.Vdisk.Topology.Slot(0, ClusterSide.Slave).Use);
        for (var block = 0; block < model.Blocks; block++)
        {
            var back = new byte[H.BlockSize];
            await H.Vdisk.ReadAsync(block * H.BlockSize, back, default);
            Assert.Equal(model.Expected(block), back);
        }
        Assert.True(await H.Inspect(primary).SetLengthAsync(H.DirtyKey(slave)) > 0); // the slave still gets its repair
    }
}
