using ZeroDisk.ClusterState.StorageEngines;

namespace ZeroDisk.ClusterState.Tests.Scenarios;

/// <summary>Failure reports are hints, state is etcd; old completions and old reports change nothing.</summary>
public sealed class When_a_completion_of_an_earlier_incident_is_replayed
{
    [Fact]
    public async Task The_engine_stays_in_repair_and_only_a_fresh_failure_sends_it_back_offline()
    {
        await using var deployment = await ClusterStateDeployment.CreateAsync();
        await deployment.StartInProcessAsync();
        var (primary, _, primaryEngines, _, vdisk) = await deployment.SeedMirroredClustersAsync();
        var engine = primaryEngines[0];

        // Incident 1: a whole temporary repair.
        var first = await deployment.StartRepairAsync(primary, engine, OutageKind.Temporary);
        await deployment.CompleteAsync(engine, vdisk, RepairKind.Tmp, first);
        await deployment.WaitForEngineAsync(primary, engine, EngineState.Online);

        // A report observed before the engine came back online is stale.
        var beforeOnline = (await deployment.EngineSagaAsync(engine))!.StateEnteredAt.AddMilliseconds(-100);
        await deployment.ReportFailureAsync(engine, node: "nbd-late", observedAt: beforeOnline);
        await Task.Delay(500);
        Assert.Equal(EngineState.Online, await deployment.EngineStateAsync(primary, engine));

        // Incident 2.
        await deployment.ReportFailureAsync(engine, observedAt: DateTimeOffset.UtcNow.AddMilliseconds(50));
        await deployment.WaitForEngineAsync(primary, engine, EngineState.Offline);
        var second = await deployment.IncidentAsync(engine);
        Assert.NotEqual(first, second);
        // A classification of the old incident is ignored too.
        await deployment.ClassifyAsync(engine, first, OutageKind.Permanent);
        await deployment.ClassifyAndWaitForRepairAsync(primary, engine, second, OutageKind.Temporary);

        // The completion of incident 1, replayed (a collector re-reading its log): the engine stays in repair.
        await deployment.CompleteAsync(engine, vdisk, RepairKind.Tmp, first);
        await Task.Delay(1000);
        Assert.Equal(EngineState.RepairTmpOutage, await deployment.EngineStateAsync(primary, engine));
        Assert.Empty((await deployment.EngineSagaAsync(engine))!.CompletedVdisks);
        Assert.Equal(ClusterStatus.Repairing.ToWire(), await deployment.ClusterStatusAsync(primary));

        // A failure observed before the repair began is stale; a fresh one sends the engine back offline (incident 3).
        var repairEntered = (await deployment.EngineSagaAsync(engine))!.StateEnteredAt;
        await deployment.ReportFailureAsync(engine, observedAt: repairEntered.AddMilliseconds(-10));
        await Task.Delay(500);
        Assert.Equal(EngineState.RepairTmpOutage, await deployment.EngineStateAsync(primary, engine));
        await deployment.ReportFailureAsync(engine, observedAt: DateTimeOffset.UtcNow.AddMilliseconds(50));
        await deployment.WaitForEngineAsync(primary, engine, EngineState.Offline);
        var third = await deployment.IncidentAsync(engine);
        Assert.NotEqual(second, third);

        // The current incident's completion still completes it.
        await deployment.ClassifyAndWaitForRepairAsync(primary, engine, third, OutageKind.Temporary);
        await deployment.CompleteAsync(engine, vdisk, RepairKind.Tmp, third);
        await deployment.WaitForEngineAsync(primary, engine, EngineState.Online);
        await deployment.WaitForClusterAsync(primary, ClusterStatus.Healthy);
        var saga = await deployment.EngineSagaAsync(engine);
        Assert.Equal(
            [EngineStateNames.Offline, EngineStateNames.RepairingTmpOutage, EngineStateNames.Online,
             EngineStateNames.Offline, EngineStateNames.RepairingTmpOutage, EngineStateNames.Offline, EngineStateNames.RepairingTmpOutage, EngineStateNames.Online],
            saga!.History.Select(h => h.To));
    }
}
