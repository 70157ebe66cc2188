using ZeroDisk.ClusterState.StorageEngines;

namespace ZeroDisk.ClusterState.Tests.Scenarios;

/// <summary>
/// Failure reports are hints, state is etcd, with real lines: the NBD server's writer stamps each line with its own time
/// and a completion with the engine's incident (read from etcd); the real collector carries them through RabbitMQ to
/// ClusterState, which ignores a completion of an earlier incident and a failure that happened before the engine
/// entered its current state, however late the line is read.
/// </summary>
public sealed class When_real_event_lines_arrive_late
{
    [Fact]
    public async Task A_completion_written_during_an_earlier_incident_is_ignored()
    {
        await using var deployment = await ClusterStateDeployment.CreateAsync();
        await deployment.StartInProcessAsync();
        var clusters = await deployment.SeedMirroredClustersAsync(vdisks: ["vd1", "vd2"]);
        var (engine, primary, vd1, vd2) = (clusters.PrimaryEngines[0], clusters.Primary, clusters.Vdisks[0], clusters.Vdisks[1]);
        await using var server = new NodeLogStream(deployment, "nbd-a");

        // Incident 1, in repair: the server finishes vd1 and writes its completion — a collector outage keeps it unread.
        var first = await deployment.StartRepairAsync(primary, engine, OutageKind.Temporary);
        var stale = await server.WriteAsync(new RepairCompleteLine(RepairKind.Tmp, engine, vd1));
        Assert.Equal(first, ((RepairCompleteLine)StderrEventParser.Parse(stale).Event!).Incident);

        // Incident 1 ends through other servers' completions; incident 2 starts and is in repair.
        await deployment.CompleteAsync(engine, vd1, RepairKind.Tmp, first);
        await deployment.CompleteAsync(engine, vd2, RepairKind.Tmp, first);
        await deployment.WaitForEngineAsync(primary, engine, EngineState.Online);
        await deployment.ReportFailureAsync(engine, observedAt: DateTimeOffset.UtcNow.AddMilliseconds(50));
        await deployment.WaitForEngineAsync(primary, engine, EngineState.Offline);
        var second = await deployment.IncidentAsync(engine);
        Assert.NotEqual(first, second);
        await deployment.ClassifyAndWaitForRepairAsync(primary, engine, second, OutageKind.Temporary);

        // The collector comes back: it reads the old vd1 completion, then the server's vd2 completion of incident 2.
        await server.WriteAsync(new RepairCompleteLine(RepairKind.Tmp, engine, vd2));
        await server.StartCollectorAsync();
        await Eventually.UntilAsync(async () => (await deployment.EngineSagaAsync(engine))!.CompletedVdisks.Contains(vd2), "vd2's completion of incident 2 counted");
        await Task.Delay(1500);
        var saga = (await deployment.EngineSagaAsync(engine))!;
        Assert.Equal([vd2], saga.CompletedVdisks);
        Assert.Equal(EngineState.RepairTmpOutage, await deployment.EngineStateAsync(primary, engine));

        // vd1's completion of incident 2, as the server writes it, ends the incident.
        await server.WriteAsync(new RepairCompleteLine(RepairKind.Tmp, engine, vd1));
        await deployment.WaitForEngineAsync(primary, engine, EngineState.Online);
        await deployment.WaitForClusterAsync(primary, ClusterStatus.Healthy);
    }

    [Fact]
    public async Task A_backlog_of_failure_lines_read_after_the_engine_is_back_online_opens_no_incident()
    {
        await using var deployment = await ClusterStateDeployment.CreateAsync();
        await deployment.StartInProcessAsync();
        var clusters = await deployment.SeedMirroredClustersAsync();
        var (engine, witness, primary, vdisk) = (clusters.PrimaryEngines[0], clusters.PrimaryEngines[1], clusters.Primary, clusters.Vdisk);
        await using var server = new NodeLogStream(deployment, "nbd-b");

        // The engine fails: this node's server writes its reports while its collector is down; another node's report
        // opens the incident, which is repaired, and the engine is online again.
        for (var i = 0; i < 5; i++) await server.WriteAsync(new StorageEngineFailureLine(engine));
        var incident = await deployment.StartRepairAsync(primary, engine, OutageKind.Temporary, node: "nbd-other");
        await deployment.CompleteAsync(engine, vdisk, RepairKind.Tmp, incident);
        await deployment.WaitForEngineAsync(primary, engine, EngineState.Online);
        var history = (await deployment.EngineSagaAsync(engine))!.History.Count;

        // The collector comes back and reads the backlog, then a fresh failure of another engine (the witness that the
        // backlog went through).
        await server.WriteAsync(new StorageEngineFailureLine(witness));
        await server.StartCollectorAsync();
        await deployment.WaitForEngineAsync(primary, witness, EngineState.Offline);
        await Task.Delay(1500);

        var saga = (await deployment.EngineSagaAsync(engine))!;
        Assert.Equal(EngineState.Online, await deployment.EngineStateAsync(primary, engine));
        Assert.Equal(incident, saga.Incident);
        Assert.Equal(history, saga.History.Count);
        Assert.Equal(EngineStateNames.Online, saga.CurrentState);
    }
}
