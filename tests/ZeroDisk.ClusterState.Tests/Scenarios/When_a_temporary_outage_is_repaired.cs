using ZeroDisk.ClusterState.StorageEngines;

namespace ZeroDisk.ClusterState.Tests.Scenarios;

/// <summary>Seed "Temporary interruption": offline → repair-tmp-outage → online once every affected vdisk completed.</summary>
public sealed class When_a_temporary_outage_is_repaired
{
    [Fact]
    public async Task The_engine_is_online_and_the_cluster_healthy_only_after_every_affected_vdisk_completed()
    {
        await using var deployment = await ClusterStateDeployment.CreateAsync();
        await deployment.StartInProcessAsync();
        var engine = deployment.NewEngineAddress();
        var primary = await deployment.SeedClusterAsync("primary", engine, deployment.NewEngineAddress());
        var slave = await deployment.SeedClusterAsync("slave", deployment.NewEngineAddress(), deployment.NewEngineAddress());
        var unrelated = await deployment.SeedClusterAsync("other", deployment.NewEngineAddress(), deployment.NewEngineAddress());
        var onPrimary = await deployment.SeedVdiskAsync("vd1", primary, slave);
        var asSlave = await deployment.SeedVdiskAsync("vd2", slave, primary); // uses the engine's cluster as its slave
        await deployment.SeedVdiskAsync("vd3", unrelated, slave);             // not affected

        await deployment.ReportFailureAsync(engine);
        await deployment.WaitForEngineAsync(primary, engine, EngineState.Offline);
        Assert.Equal(ClusterStatus.Repairing.ToWire(), await deployment.ClusterStatusAsync(primary));
        var saga = await deployment.EngineSagaAsync(engine);
        Assert.Equal([onPrimary, asSlave], saga!.AffectedVdisks.Order());
        var incident = saga.Incident!;

        await deployment.ClassifyAsync(engine, incident, OutageKind.Temporary);
        await deployment.WaitForEngineAsync(primary, engine, EngineState.RepairTmpOutage);

        await deployment.CompleteAsync(engine, onPrimary, RepairKind.Tmp, incident);
        await Eventually.UntilAsync(async () => (await deployment.EngineSagaAsync(engine))!.CompletedVdisks.Count == 1, "the first completion is counted");
        Assert.Equal(EngineState.RepairTmpOutage, await deployment.EngineStateAsync(primary, engine));
        Assert.Equal(ClusterStatus.Repairing.ToWire(), await deployment.ClusterStatusAsync(primary));

        await deployment.CompleteAsync(engine, asSlave, RepairKind.Tmp, incident);
        await deployment.WaitForEngineAsync(primary, engine, EngineState.Online);
        await deployment.WaitForClusterAsync(primary, ClusterStatus.Healthy);

        saga = await deployment.EngineSagaAsync(engine);
        Assert.Equal(
            [EngineStateNames.Offline, EngineStateNames.RepairingTmpOutage, EngineStateNames.Online],
            saga!.History.Select(h => h.To));
        Assert.All(saga.History, h => Assert.Equal(incident, h.Incident));

        // Each vdisk's repair saga went (Pending →) Running → Completed.
        foreach (var vdisk in new[] { onPrimary, asSlave })
            Assert.Equal(["Running", "Completed"], await deployment.VdiskRepairPhasesAsync(vdisk, incident, 2));

        // The cluster saga followed etcd: repairing, then healthy again.
        await Eventually.UntilAsync(async () => (await deployment.ClusterSagaAsync(primary))?.CurrentState == "Healthy", "the cluster saga is healthy");
        var cluster = await deployment.ClusterSagaAsync(primary);
        Assert.Equal(["Repairing", "Healthy"], cluster!.History.Select(h => h.To));
    }
}
