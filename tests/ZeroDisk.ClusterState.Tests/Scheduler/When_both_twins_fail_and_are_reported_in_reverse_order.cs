using ZeroDisk.ClusterState.StorageEngines;
using ZeroDisk.ServiceDefaults.Engines;

namespace ZeroDisk.ClusterState.Tests.Scheduler;

/// <summary>
/// The primary failed first and the slave served alone (recording what the primary missed in its dirty set on the
/// slave), then the slave died too. Their reports reach ClusterState in reverse order, while neither answers: the slave
/// goes offline as a single failure, the primary as the shard's "last serving side" — the order of the reports, not
/// of the failures. When the engines are back, the dirty sets decide: the primary, which missed writes, must not serve
/// the shard alone; the slave, which holds them, serves again, and the primary is repaired from it.
/// </summary>
[Collection(SchedulerScenarios.Name)]
public sealed class When_both_twins_fail_and_are_reported_in_reverse_order
{
    [Fact]
    public async Task The_side_the_dirty_sets_name_complete_serves_again_and_the_stale_one_is_repaired_from_it()
    {
        await using var scenario = await SchedulerScenario.StartAsync(clusterStateArguments: ["--ClusterState:ReconcileInterval=00:00:02"]);
        var (stale, complete) = (scenario.Primary[0], scenario.Slave[0]);
        var missed = EngineKeys.DirtyBlocks(scenario.Vdisk, stale.Address);
        await (await scenario.DatabaseAsync(complete)).SetAddAsync(missed, [3, 7]);
        scenario.OnJob = async job =>
        {
            // The played agent's repair copies the missed blocks and empties the set, as the real one does.
            await (await scenario.DatabaseAsync(complete)).KeyDeleteAsync(EngineKeys.DirtyBlocks(job.VdiskId, job.Address));
            await scenario.CompleteAsync(job);
        };
        await stale.KillAsync();
        await complete.KillAsync();
        await scenario.Deployment.ReportFailureAsync(complete.Address);
        await scenario.WaitForAsync(complete, EngineState.Offline);
        await scenario.Deployment.ReportFailureAsync(stale.Address);
        await scenario.WaitForAsync(stale, EngineState.Offline);
        Assert.NotNull((await scenario.Deployment.EngineSagaAsync(stale.Address))!.ShardUnavailable); // by the order of the reports
        // From here on (the complete side was taken offline while its twin was online: a single failure, by then), the
        // stale side must never be the shard's only online side.
        await using var watch = new StateWatch(async () =>
            await scenario.StateAsync(stale) == EngineState.Online && await scenario.StateAsync(complete) != EngineState.Online);

        // The complete side comes back first: its twin does not answer, so nothing says yet that it is complete.
        await complete.RestartAsync();
        await Eventually.UntilAsync(async () => (await scenario.Deployment.EngineSagaAsync(complete.Address))?.HeldOutage == OutageKind.Temporary,
            "the complete side's classification is held", TimeSpan.FromSeconds(60));
        // The stale side's classification arrives (the scheduler saw it answer; here it is down again, so the complete
        // side's held classification, offered again every round, cannot be judged yet): the slave's dirty set names it
        // stale, so it does not serve alone, whatever the order of the reports said.
        await scenario.Deployment.ClassifyAsync(stale.Address, await scenario.IncidentAsync(stale), OutageKind.Temporary);
        var held = await Eventually.ValueAsync(async () => await scenario.Deployment.EngineSagaAsync(stale.Address),
            saga => saga?.HeldOutage == OutageKind.Temporary, TimeSpan.FromSeconds(30));
        Assert.Contains($"{complete.Address} holds 2 block(s) it missed", held!.HeldBecause);
        // It answers again: its dirty sets show it holds nothing the slave missed, so the slave serves alone, and the
        // primary is repaired from it.
        await stale.RestartAsync();
        await scenario.WaitForAsync(complete, EngineState.Online, TimeSpan.FromSeconds(60));
        await scenario.WaitForAsync(stale, EngineState.Online, TimeSpan.FromSeconds(90));
        var staleServedAlone = await watch.StopAsync();

        var completeSaga = await scenario.Deployment.EngineSagaAsync(complete.Address);
        var staleSaga = await scenario.Deployment.EngineSagaAsync(stale.Address);
        Assert.True(staleServedAlone == 0, $"the stale side served the shard alone; stale: {Transitions(staleSaga!)}; complete: {Transitions(completeSaga!)}");
        Assert.Equal([EngineStateNames.Offline, EngineStateNames.Online], completeSaga!.History.Select(h => h.To));
        Assert.Contains("no twin holds a block it missed", completeSaga.History[^1].Reason);
        Assert.Equal([EngineStateNames.Offline, EngineStateNames.RepairingTmpOutage, EngineStateNames.Online], staleSaga!.History.Select(h => h.To));
        await scenario.Deployment.WaitForClusterAsync(scenario.PrimaryCluster, ClusterStatus.Healthy);
        await scenario.Deployment.WaitForClusterAsync(scenario.SlaveCluster, ClusterStatus.Healthy);
    }

    private static string Transitions(StorageEngineSaga saga) => string.Join(", ", saga.History.Select(h => $"{h.To} ({h.Reason})"));
}
