using MassTransit;
using System.Collections.Concurrent;
using ZeroDisk.ClusterState.StorageEngines;
using ZeroDisk.ServiceDefaults.Engines;

namespace ZeroDisk.ClusterState.Tests.Scheduler;

/// <summary>
/// Transient double failures heal by themselves: a report that would leave a shard with no serving side is checked by
/// probing both engines before it changes etcd. A false double report does not take the shard's last side offline;
/// a genuine double failure marks the shard unavailable, holds every repair until its last serving side is back, and
/// heals from that side.
/// </summary>
[Collection(SchedulerScenarios.Name)]
public sealed class When_both_twins_of_a_shard_are_reported
{
    [Fact]
    public async Task A_false_double_report_while_both_answer_never_leaves_the_shard_without_a_serving_side()
    {
        await using var scenario = await SchedulerScenario.StartAsync(clusterStateArguments: ["--ClusterState:ReconcileInterval=00:00:02"]);
        scenario.OnJob = scenario.CompleteAsync; // the repair of the vdisk nobody serves is done at once
        var (primary, slave) = (scenario.Primary[0], scenario.Slave[0]);
        await using var watch = new StateWatch(async () =>
            await scenario.StateAsync(primary) != EngineState.Online && await scenario.StateAsync(slave) != EngineState.Online);

        // One NBD server that stalled on both sides reports both twins at once; both engines answer.
        await Task.WhenAll(scenario.Deployment.ReportFailureAsync(primary.Address, "nbd-stalled"), scenario.Deployment.ReportFailureAsync(slave.Address, "nbd-stalled"));
        var refused = await Eventually.ValueAsync(async () => (await scenario.Deployment.EngineSagaAsync(primary.Address))?.LastRefusedReport
                                                            ?? (await scenario.Deployment.EngineSagaAsync(slave.Address))?.LastRefusedReport,
            r => r is not null, TimeSpan.FromSeconds(60));
        Assert.Contains("answers", refused);
        // The report that was believed (a single failure: its twin served) goes the normal way back; nothing else moves.
        await scenario.WaitForAsync(primary, EngineState.Online);
        await scenario.WaitForAsync(slave, EngineState.Online);
        await scenario.Deployment.WaitForClusterAsync(scenario.PrimaryCluster, ClusterStatus.Healthy);
        await scenario.Deployment.WaitForClusterAsync(scenario.SlaveCluster, ClusterStatus.Healthy);
        Assert.Equal(0, await watch.StopAsync());
        var sagas = new[] { await scenario.Deployment.EngineSagaAsync(primary.Address), await scenario.Deployment.EngineSagaAsync(slave.Address) };
        Assert.Single(sagas, s => s is not null && s.History.Count > 0); // exactly one engine had an incident
        Assert.All(sagas, s => Assert.Null(s?.ShardUnavailable));
    }

    [Fact]
    public async Task A_genuine_double_failure_marks_the_shard_unavailable_holds_repairs_and_heals_from_the_last_serving_side()
    {
        await using var scenario = await SchedulerScenario.StartAsync(clusterStateArguments: ["--ClusterState:ReconcileInterval=00:00:02"]);
        var alerts = new ConcurrentQueue<ShardUnavailable>();
        var alertEndpoint = scenario.Deployment.Publisher.ConnectReceiveEndpoint($"{scenario.Deployment.Scope}-alerts", e => e.Handler<ShardUnavailable>(c =>
        {
            alerts.Enqueue(c.Message);
            return Task.CompletedTask;
        }));
        await alertEndpoint.Ready;
        var (first, last) = (scenario.Primary[0], scenario.Slave[0]);
        var missedByFirst = EngineKeys.DirtyBlocks(scenario.Vdisk, first.Address);
        scenario.OnJob = async job =>
        {
            // The repair copies what the first engine missed from the last serving side and empties its dirty set.
            await (await scenario.DatabaseAsync(last)).KeyDeleteAsync(missedByFirst);
            await scenario.CompleteAsync(job);
        };

        await first.KillAsync();
        // The last side served alone before it died too: the dirty set of the first, on it, names what the first missed.
        await (await scenario.DatabaseAsync(last)).SetAddAsync(missedByFirst, [3]);
        await scenario.Deployment.ReportFailureAsync(first.Address);
        await scenario.WaitForAsync(first, EngineState.Offline);
        await last.KillAsync();
        await scenario.Deployment.ReportFailureAsync(last.Address);
        await scenario.WaitForAsync(last, EngineState.Offline);

        // Visible: the alert, the saga in etcd, the admin API.
        await Eventually.TrueAsync(() => alerts.Any(a => a.Address == last.Address), TimeSpan.FromSeconds(30), "a ShardUnavailable alert");
        var lastSaga = await scenario.Deployment.EngineSagaAsync(last.Address);
        Assert.Contains("no serving side", lastSaga!.ShardUnavailable);
        using (var http = scenario.Deployment.Http())
        {
            var engines = await http.GetStringAsync("/engines");
            Assert.Contains("no serving side", engines);
        }

        // The first engine comes back first: it must not be repaired from its twin, which is not complete (down).
        await first.RestartAsync();
        await Eventually.UntilAsync(async () => (await scenario.Deployment.EngineSagaAsync(first.Address))?.HeldOutage == OutageKind.Temporary,
            "the first engine's classification is held", TimeSpan.FromSeconds(60));
        Assert.Equal(EngineState.Offline, await scenario.StateAsync(first));
        Assert.Empty(scenario.Jobs);

        // The last serving side comes back with its data: online at once; then the first is repaired from it.
        await last.RestartAsync();
        await scenario.WaitForAsync(last, EngineState.Online);
        await scenario.WaitForAsync(first, EngineState.Online, TimeSpan.FromSeconds(90));
        await scenario.Deployment.WaitForClusterAsync(scenario.PrimaryCluster, ClusterStatus.Healthy);
        await scenario.Deployment.WaitForClusterAsync(scenario.SlaveCluster, ClusterStatus.Healthy);
        lastSaga = await scenario.Deployment.EngineSagaAsync(last.Address);
        Assert.Null(lastSaga!.ShardUnavailable);
        Assert.Equal([EngineStateNames.Offline, EngineStateNames.Online], lastSaga.History.Select(h => h.To));
        var firstSaga = await scenario.Deployment.EngineSagaAsync(first.Address);
        Assert.Equal([EngineStateNames.Offline, EngineStateNames.RepairingTmpOutage, EngineStateNames.Online], firstSaga!.History.Select(h => h.To));
        await alertEndpoint.StopAsync();
    }

    [Fact]
    public async Task The_last_serving_side_back_without_its_identity_marker_does_not_serve_the_shard_alone()
    {
        await using var scenario = await SchedulerScenario.StartAsync();
        var (first, last) = (scenario.Primary[0], scenario.Slave[0]);
        const string marker = "slave-cluster/identity-of-the-last-side";
        await scenario.Deployment.Etcd.PutAsync(EtcdKeys.EngineIdentity(last.Address), marker);
        await (await scenario.DatabaseAsync(last)).StringSetAsync(EngineIdentity.RedisKey, marker);
        await first.KillAsync();
        await scenario.Deployment.ReportFailureAsync(first.Address);
        await scenario.WaitForAsync(first, EngineState.Offline);
        await last.KillAsync();
        await scenario.Deployment.ReportFailureAsync(last.Address);
        await scenario.WaitForAsync(last, EngineState.Offline);

        // The scheduler saw the last side answer and classified it temporary; by the time the classification is handled
        // (it was held, and is offered again) the engine is back on an empty disk: never the shard's only side.
        await scenario.Scheduler.KillAsync();
        await last.RestartAsync();
        await (await scenario.DatabaseAsync(last)).KeyDeleteAsync(EngineIdentity.RedisKey);
        await scenario.Deployment.ClassifyAsync(last.Address, await scenario.IncidentAsync(last), OutageKind.Temporary);
        var held = await Eventually.ValueAsync(async () => await scenario.Deployment.EngineSagaAsync(last.Address),
            saga => saga?.HeldOutage == OutageKind.Temporary, TimeSpan.FromSeconds(30));
        Assert.Contains("identity marker is missing", held!.HeldBecause);
        Assert.Equal(EngineState.Offline, await scenario.StateAsync(last));
    }
}
