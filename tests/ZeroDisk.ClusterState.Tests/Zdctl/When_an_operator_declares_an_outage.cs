namespace ZeroDisk.ClusterState.Tests.Zdctl;

/// <summary>`zdctl outage declare`: permanent is refused while the twin is down (with the API's reason) unless forced.</summary>
public sealed class When_an_operator_declares_an_outage
{
    [Fact]
    public async Task Permanent_is_refused_while_the_twin_is_down_and_accepted_when_forced_or_when_the_twin_is_online()
    {
        await using var deployment = await ClusterStateDeployment.CreateAsync();
        await deployment.StartInProcessAsync();
        var (primary, slave, primaryEngines, slaveEngines, _) = await deployment.SeedMirroredClustersAsync();
        string e0 = primaryEngines[0], e1 = primaryEngines[1], s0 = slaveEngines[0];
        var zdctl = new ZdctlCli(deployment);

        var unknown = await zdctl.RunAsync("outage", "declare", e0, "--permanent");
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("refused (404)", unknown.StdErr);

        // Both sides of shard 0 are down: refused, with the twin named.
        await deployment.ReportFailureAsync(e0);
        await deployment.ReportFailureAsync(s0);
        await deployment.WaitForEngineAsync(primary, e0, EngineState.Offline);
        await deployment.WaitForEngineAsync(slave, s0, EngineState.Offline);
        var refused = await zdctl.RunAsync("outage", "declare", e0, "--permanent");
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("refused (409)", refused.StdErr);
        Assert.Contains($"{s0} (offline)", refused.StdErr);
        Assert.Contains("(zdctl: --force)", refused.StdErr);
        Assert.Single(refused.StdErr.Trim().Split('\n'));

        var forced = (await zdctl.RunAsync("outage", "declare", e0, "--permanent", "--force", "--operator", "alice")).EnsureSuccess("zdctl outage declare --force");
        Assert.Contains($"outage of {e0} declared permanent", forced.StdOut);
        Assert.Contains((await deployment.EngineSagaAsync(e0))!.Incident!, forced.StdOut);
        await deployment.WaitForEngineAsync(primary, e0, EngineState.RepairFinalOutage);
        Assert.Contains("declared permanent by alice", (await deployment.EngineSagaAsync(e0))!.History[^1].Reason);

        // Shard 1's twin is online: no force needed.
        await deployment.ReportFailureAsync(e1);
        await deployment.WaitForEngineAsync(primary, e1, EngineState.Offline);
        (await zdctl.RunAsync("outage", "declare", e1, "--permanent")).EnsureSuccess("zdctl outage declare (twin online)");
        await deployment.WaitForEngineAsync(primary, e1, EngineState.RepairFinalOutage);
    }
}
