using ZeroDisk.ClusterState.StorageEngines;

namespace ZeroDisk.ClusterState.Tests.Scenarios;

/// <summary>Seed "Permanent interruption": offline → repair-final-outage → rip once every affected vdisk was respread.</summary>
public sealed class When_an_outage_is_permanent
{
    [Fact]
    public async Task The_engine_becomes_rip_after_every_respread_and_a_tmp_completion_does_not_count()
    {
        await using var deployment = await ClusterStateDeployment.CreateAsync();
        await deployment.StartInProcessAsync();
        var clusters = await deployment.SeedMirroredClustersAsync(vdisks: ["vd1", "vd2"]);
        var (primary, engine, vd1, vd2) = (clusters.Primary, clusters.PrimaryEngines[0], clusters.Vdisks[0], clusters.Vdisks[1]);

        var incident = await deployment.StartRepairAsync(primary, engine, OutageKind.Permanent);

        // A resync completion is not a respread: it must not count toward rip.
        await deployment.CompleteAsync(engine, vd1, RepairKind.Tmp, incident);
        await deployment.CompleteAsync(engine, vd1, RepairKind.Final, incident);
        await Eventually.UntilAsync(async () => (await deployment.EngineSagaAsync(engine))!.CompletedVdisks.Count == 1, "the respread of vd1 is counted");
        await deployment.CompleteAsync(engine, vd1, RepairKind.Final, incident); // a second report of the same vdisk
        Assert.Equal(EngineState.RepairFinalOutage, await deployment.EngineStateAsync(primary, engine));

        await deployment.CompleteAsync(engine, vd2, RepairKind.Final, incident);
        await deployment.WaitForEngineAsync(primary, engine, EngineState.Rip);
        await deployment.WaitForClusterAsync(primary, ClusterStatus.Healthy);

        var saga = await deployment.EngineSagaAsync(engine);
        Assert.Equal([EngineStateNames.Offline, EngineStateNames.RepairingFinalOutage, EngineStateNames.Rip], saga!.History.Select(h => h.To));

        // Rip is final: a later failure report changes nothing.
        await deployment.ReportFailureAsync(engine, observedAt: DateTimeOffset.UtcNow.AddSeconds(1));
        await deployment.CompleteAsync(engine, vd2, RepairKind.Final, incident);
        await Task.Delay(500);
        Assert.Equal(EngineState.Rip, await deployment.EngineStateAsync(primary, engine));
    }
}
