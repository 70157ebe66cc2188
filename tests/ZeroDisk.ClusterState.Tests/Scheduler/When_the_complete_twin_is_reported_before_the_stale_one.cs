using StackExchange.Redis;
using ZeroDisk.ServiceDefaults.Engines;
using ZeroDisk.ClusterState.StorageEngines;

namespace ZeroDisk.ClusterState.Tests.Scheduler;

/// <summary>
/// Failure reports arrive in no particular order. The primary failed first and the slave served alone (recording the
/// blocks the primary missed in the primary's dirty set on the slave); then the slave failed too and came back. If the
/// slave's report is handled before the primary's, etcd must not take the slave offline and keep the stale primary:
/// the shard would be left with no complete side (seed 7002 of the fault checker: a write outage until the slave's
/// repair). The dirty sets on the engines say which side is complete, without trusting any clock.
/// </summary>
[Collection(SchedulerScenarios.Name)]
public sealed class When_the_complete_twin_is_reported_before_the_stale_one
{
    [Fact]
    public async Task The_complete_side_stays_online_and_the_stale_side_is_repaired_from_it()
    {
        await using var scenario = await SchedulerScenario.StartAsync();
        var (stale, complete) = (scenario.Primary[0], scenario.Slave[0]);
        var onComplete = await scenario.DatabaseAsync(complete);
        var missed = EngineKeys.DirtyBlocks(scenario.Vdisk, stale.Address);
        await onComplete.SetAddAsync(missed, [3, 7]);
        // The played agent's repair copies the missed blocks and empties the set, as the real one does.
        scenario.OnJob = async job =>
        {
            await onComplete.KeyDeleteAsync(EngineKeys.DirtyBlocks(job.VdiskId, job.Address));
            await scenario.CompleteAsync(job);
        };
        await using var watch = new StateWatch(async () => await scenario.StateAsync(complete) != EngineState.Online);

        await scenario.Deployment.ReportFailureAsync(complete.Address, "nbd-late-primary-report");
        var refused = await Eventually.ValueAsync(async () => (await scenario.Deployment.EngineSagaAsync(complete.Address))?.LastRefusedReport,
            r => r is not null, TimeSpan.FromSeconds(60));
        Assert.Contains($"{stale.Address} missed 2 block(s) that only {complete.Address} holds", refused);

        // The stale side's own report takes it offline; it is repaired from the complete side and comes back.
        await scenario.Deployment.ReportFailureAsync(stale.Address, "nbd-late-primary-report");
        await scenario.WaitForAsync(stale, EngineState.Offline);
        await scenario.WaitForAsync(stale, EngineState.Online, TimeSpan.FromSeconds(90));

        Assert.Equal(0, await watch.StopAsync());
        Assert.Empty((await scenario.Deployment.EngineSagaAsync(complete.Address))!.History);
        var staleSaga = await scenario.Deployment.EngineSagaAsync(stale.Address);
        Assert.Equal([EngineStateNames.Offline, EngineStateNames.RepairingTmpOutage, EngineStateNames.Online], staleSaga!.History.Select(h => h.To));
        Assert.Equal(0, await onComplete.SetLengthAsync(missed));
    }

    [Fact]
    public async Task When_each_side_missed_writes_of_the_other_neither_is_complete_and_the_report_is_believed()
    {
        await using var scenario = await SchedulerScenario.StartAsync();
        var (primary, slave) = (scenario.Primary[0], scenario.Slave[0]);
        await (await scenario.DatabaseAsync(slave)).SetAddAsync(EngineKeys.DirtyBlocks(scenario.Vdisk, primary.Address), [3]);
        await (await scenario.DatabaseAsync(primary)).SetAddAsync(EngineKeys.DirtyBlocks(scenario.Vdisk, slave.Address), [5]);

        // Keeping the slave online here would keep it online forever: the primary's report would be refused the same way.
        await scenario.Deployment.ReportFailureAsync(slave.Address);
        await scenario.WaitForAsync(slave, EngineState.Offline);
        Assert.Null((await scenario.Deployment.EngineSagaAsync(slave.Address))!.LastRefusedReport);
        Assert.Equal(EngineState.Online, await scenario.StateAsync(primary));
    }
}
