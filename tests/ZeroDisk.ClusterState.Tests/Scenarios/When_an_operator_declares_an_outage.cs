using System.Net;
using System.Net.Http.Json;

namespace ZeroDisk.ClusterState.Tests.Scenarios;

/// <summary>The operator override, refused while the twin is down (it may hold the only complete copy) unless forced.</summary>
public sealed class When_an_operator_declares_an_outage
{
    [Fact]
    public async Task Permanent_needs_force_while_the_twin_is_down_and_then_starts_the_respread()
    {
        await using var deployment = await ClusterStateDeployment.CreateAsync();
        await deployment.StartInProcessAsync();
        var (primary, slave, primaryEngines, slaveEngines, _) = await deployment.SeedMirroredClustersAsync();
        string e0 = primaryEngines[0], s0 = slaveEngines[0];
        using var http = deployment.Http();

        Assert.Equal(HttpStatusCode.NotFound, (await http.PostAsJsonAsync($"/engines/{e0}/outage", new { kind = "permanent" })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.PostAsJsonAsync("/engines/not-an-address/outage", new { kind = "permanent" })).StatusCode);

        // Both sides of shard 0 are down.
        await deployment.ReportFailureAsync(e0);
        await deployment.ReportFailureAsync(s0);
        await deployment.WaitForEngineAsync(primary, e0, EngineState.Offline);
        await deployment.WaitForEngineAsync(slave, s0, EngineState.Offline);

        var refused = await http.PostAsJsonAsync($"/engines/{e0}/outage", new { kind = "permanent" });
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Contains(s0, await refused.Content.ReadAsStringAsync());
        await Task.Delay(300);
        Assert.Equal(EngineState.Offline, await deployment.EngineStateAsync(primary, e0));

        // The slave comes back (temporary, declared by the operator); then the primary's permanent outage is forced anyway.
        Assert.Equal(HttpStatusCode.Accepted, (await http.PostAsJsonAsync($"/engines/{s0}/outage", new { kind = "temporary", @operator = "alice" })).StatusCode);
        await deployment.WaitForEngineAsync(slave, s0, EngineState.RepairTmpOutage);
        Assert.Equal(HttpStatusCode.Accepted, (await http.PostAsJsonAsync($"/engines/{e0}/outage", new { kind = "permanent", force = true, @operator = "alice" })).StatusCode);
        await deployment.WaitForEngineAsync(primary, e0, EngineState.RepairFinalOutage);
        var saga = await deployment.EngineSagaAsync(e0);
        Assert.Contains("declared permanent by alice", saga!.History[^1].Reason);
    }
}
