namespace ZeroDisk.ClusterState.Tests.Scenarios;

/// <summary>
/// No repair is left open ("Pending" long after the system settled, fault-check seeds 12 and 1001): an incident
/// that ends without repairing its vdisks — the engine back as its shard's last serving side with its data, or a
/// fresh failure superseding the incident — cancels their repair sagas, so /repairs and zdctl do not list them as
/// open forever. Each repair keeps its history and says why it ended.
/// </summary>
public sealed class When_an_incident_ends_without_repairing_its_vdisks
{
    [Fact]
    public async Task The_repairs_of_the_shards_last_serving_side_are_cancelled_when_it_comes_back_with_its_data()
    {
        await using var deployment = await ClusterStateDeployment.CreateAsync();
        await deployment.StartInProcessAsync();
        // The last serving side is a real engine: it serves alone again only if it answers when it is classified.
        await using var lastEngine = await RedisServerProcess.StartAsync();
        var last = lastEngine.Address;
        deployment.TrackEngine(last);
        var first = deployment.NewEngineAddress(); // never answers
        var (primary, slave) = (await deployment.SeedClusterAsync("primary", first), await deployment.SeedClusterAsync("slave", last));
        var vdisk = await deployment.SeedVdiskAsync("vd1", primary, slave);

        await deployment.ReportFailureAsync(first);
        await deployment.WaitForEngineAsync(primary, first, EngineState.Offline);
        await lastEngine.KillAsync();
        await deployment.ReportFailureAsync(last);
        await deployment.WaitForEngineAsync(slave, last, EngineState.Offline);
        var incident = await deployment.IncidentAsync(last);
        await Eventually.UntilAsync(async () => (await deployment.VdiskRepairSagaAsync(vdisk, incident))?.CurrentState == "Pending", "the repair is pending");

        await lastEngine.RestartAsync();
        await deployment.ClassifyAsync(last, incident, OutageKind.Temporary);
        await deployment.WaitForEngineAsync(slave, last, EngineState.Online);

        await Eventually.UntilAsync(async () => (await deployment.VdiskRepairSagaAsync(vdisk, incident))?.CurrentState == "Cancelled",
            "the repair of the last serving side is cancelled", TimeSpan.FromSeconds(30));
        var repair = await deployment.VdiskRepairSagaAsync(vdisk, incident);
        Assert.Equal(["Pending", "Cancelled"], repair!.History.Select(h => h.To));
        Assert.Contains("last serving side", repair.History[^1].Reason);
        // What the admin API lists (and the checker waits on): no repair for the engine left open (its twin's is, rightly).
        using var http = deployment.Http();
        using var repairs = System.Text.Json.JsonDocument.Parse(await http.GetStringAsync("/repairs"));
        var states = repairs.RootElement.EnumerateArray().Where(r => r.GetProperty("vdiskId").GetString() == vdisk && r.GetProperty("address").GetString() == last)
            .Select(r => r.GetProperty("currentState").GetString()).ToList();
        Assert.NotEmpty(states);
        Assert.All(states, s => Assert.Contains(s, new[] { "Completed", "Cancelled" }));
    }

    [Fact]
    public async Task The_repairs_of_an_incident_superseded_by_a_fresh_failure_are_cancelled_and_the_new_ones_pending()
    {
        await using var deployment = await ClusterStateDeployment.CreateAsync();
        await deployment.StartInProcessAsync();
        var clusters = await deployment.SeedMirroredClustersAsync();
        var engine = clusters.PrimaryEngines[1];

        var superseded = await deployment.StartRepairAsync(clusters.Primary, engine, OutageKind.Temporary);
        await Eventually.UntilAsync(async () => (await deployment.VdiskRepairSagaAsync(clusters.Vdisk, superseded))?.CurrentState == "Running", "the repair runs");

        // A fresh failure during the repair: a new incident; the old repair is nobody's work any more.
        await deployment.ReportFailureAsync(engine, observedAt: DateTimeOffset.UtcNow.AddMilliseconds(50));
        await deployment.WaitForEngineAsync(clusters.Primary, engine, EngineState.Offline);
        string? current = null;
        await Eventually.UntilAsync(async () => (current = (await deployment.EngineSagaAsync(engine))?.Incident) != superseded, "a new incident");

        await Eventually.UntilAsync(async () => (await deployment.VdiskRepairSagaAsync(clusters.Vdisk, superseded))?.CurrentState == "Cancelled",
            "the superseded repair is cancelled", TimeSpan.FromSeconds(30));
        Assert.Equal(["Running", "Cancelled"], await deployment.VdiskRepairPhasesAsync(clusters.Vdisk, superseded, 2));
        Assert.Contains("superseded", (await deployment.VdiskRepairSagaAsync(clusters.Vdisk, superseded))!.History[^1].Reason);
        await Eventually.UntilAsync(async () => (await deployment.VdiskRepairSagaAsync(clusters.Vdisk, current!))?.CurrentState == "Pending", "the new incident's repair is pending");
    }
}
