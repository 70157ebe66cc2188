using ZeroDisk.ClusterState.StorageEngines;

namespace ZeroDisk.ClusterState.Tests.Scenarios;

/// <summary>The saga state lives in etcd, so ClusterState can be killed at any moment.</summary>
public sealed class When_clusterstate_is_killed_between_events
{
    [Fact]
    public async Task A_new_process_continues_from_etcd_and_finishes_the_repair()
    {
        await using var deployment = await ClusterStateDeployment.CreateAsync();
        var first = await deployment.StartProcessAsync();
        var clusters = await deployment.SeedMirroredClustersAsync(vdisks: ["vd1", "vd2"]);
        var (primary, engine, vd1, vd2) = (clusters.Primary, clusters.PrimaryEngines[0], clusters.Vdisks[0], clusters.Vdisks[1]);

        await deployment.ReportFailureAsync(engine);
        await deployment.WaitForEngineAsync(primary, engine, EngineState.Offline);
        var incident = await deployment.IncidentAsync(engine);
        await first.KillAsync();

        // Events arrive while no ClusterState runs: they wait in the durable queue.
        await deployment.ClassifyAsync(engine, incident, OutageKind.Temporary);
        var second = await deployment.StartProcessAsync();
        await deployment.WaitForEngineAsync(primary, engine, EngineState.RepairTmpOutage);
        await deployment.CompleteAsync(engine, vd1, RepairKind.Tmp, incident);
        await Eventually.UntilAsync(async () => (await deployment.EngineSagaAsync(engine))!.CompletedVdisks.Count == 1, "the first completion is counted");
        await second.KillAsync();

        await deployment.CompleteAsync(engine, vd2, RepairKind.Tmp, incident);
        await deployment.StartProcessAsync();
        await deployment.WaitForEngineAsync(primary, engine, EngineState.Online);
        await deployment.WaitForClusterAsync(primary, ClusterStatus.Healthy);

        var saga = await deployment.EngineSagaAsync(engine);
        Assert.Equal([EngineStateNames.Offline, EngineStateNames.RepairingTmpOutage, EngineStateNames.Online], saga!.History.Select(h => h.To));
        Assert.Equal(incident, saga.Incident);
    }
}
