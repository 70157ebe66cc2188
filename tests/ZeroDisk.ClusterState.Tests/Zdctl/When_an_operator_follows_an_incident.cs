namespace ZeroDisk.ClusterState.Tests.Zdctl;

/// <summary>`zdctl follow`: one line per engine transition as it is committed, with incident and trace; `--once` replays them.</summary>
public sealed class When_an_operator_follows_an_incident
{
    [Fact]
    public async Task Each_transition_of_a_temporary_outage_is_printed_as_it_happens()
    {
        await using var deployment = await ClusterStateDeployment.CreateAsync();
        await deployment.StartInProcessAsync();
        var (primary, _, primaryEngines, _, vdisk) = await deployment.SeedMirroredClustersAsync(shards: 1);
        var e0 = primaryEngines[0];
        var zdctl = new ZdctlCli(deployment);

        await using var follow = zdctl.Start("follow", "--timeout", "90");
        await follow.WaitForStdErrAsync(l => l.Contains("following engine transitions"), "zdctl follow is watching");

        await deployment.ReportFailureAsync(e0);
        var incident = await deployment.IncidentAsync(e0);
        var offline = await follow.WaitForStdOutAsync(l => l.Contains("online -> offline"), "the offline transition is printed");
        var trace = (await deployment.EngineSagaAsync(e0))!.IncidentTraceId!;
        Assert.Contains($"{e0} ({primary})", offline);
        Assert.Contains($"incident {incident}", offline);
        Assert.Contains($"trace {trace}", offline);

        await deployment.ClassifyAsync(e0, incident, OutageKind.Temporary);
        await follow.WaitForStdOutAsync(l => l.Contains("offline -> repair-tmp-outage") && l.Contains("classified temporary"), "the repair transition is printed");
        await deployment.CompleteAsync(e0, vdisk, RepairKind.Tmp, incident);
        await follow.WaitForStdOutAsync(l => l.Contains("repair-tmp-outage -> online") && l.Contains(incident), "the online transition is printed");
        Assert.Equal(3, follow.StdOutLines.Count);

        var once = (await zdctl.RunAsync("follow", "--once")).EnsureSuccess("zdctl follow --once");
        Assert.Equal(follow.StdOutLines, once.StdOut.TrimEnd().Split('\n'));
    }
}
