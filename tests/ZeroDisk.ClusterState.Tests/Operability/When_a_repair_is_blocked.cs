using System.Net;
using System.Text.Json;
using ZeroDisk.ClusterState.Operability;
using ZeroDisk.ClusterState.Tests.Scheduler;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.ClusterState.Tests.Operability;

/// <summary>
/// A blocked repair's reason is in the admin API (<c>/status/repairs</c>) and in <c>zdctl health
/// detail</c> and <c>zdctl status</c>, not only in a node's log. An engine is in a temporary-outage repair with no
/// scheduler and no node agent: blocked for want of both. An agent registers: the "no agent" reason goes, and once the
/// vdisk has stayed unowned past Observer:UnownedAfter its job's lease is reported lapsed.
/// </summary>
[Collection(SchedulerScenarios.Name)] // agents live under one etcd prefix for every test: none may come and go meanwhile
public sealed class When_a_repair_is_blocked
{
    [Fact]
    public async Task The_admin_api_and_zdctl_say_why_and_what_to_do()
    {
        await using var deployment = await ClusterStateDeployment.CreateAsync();
        var instance = await deployment.StartInProcessAsync(["--ClusterState:Observer:Interval=00:00:00.3", "--ClusterState:Observer:UnownedAfter=00:00:02"]);
        var clusters = await deployment.SeedMirroredClustersAsync(shards: 1);
        var engine = clusters.PrimaryEngines[0];
        await deployment.ReportFailureAsync(engine);
        await deployment.WaitForEngineAsync(clusters.Primary, engine, EngineState.Offline);
        await deployment.ClassifyAsync(engine, await deployment.IncidentAsync(engine), OutageKind.Temporary);
        await deployment.WaitForEngineAsync(clusters.Primary, engine, EngineState.RepairTmpOutage);

        var codes = await BlockedAsync(instance.Url, engine, c => c.Contains(RepairBlockCodes.NoAgent) && c.Contains(RepairBlockCodes.NoCampaign));
        Assert.DoesNotContain(RepairBlockCodes.LeaseLapsed, codes);
        var zdctl = new ZdctlCli(deployment);
        var health = await zdctl.RunAsync("health", "detail");
        Assert.True(health.ExitCode == 1, health.StdOut + health.StdErr);
        Assert.StartsWith("HEALTH_ERR", health.StdOut);
        Assert.Contains("[ERR] REPAIR_BLOCKED", health.StdOut);
        Assert.Contains($"{engine} [{RepairBlockCodes.NoAgent}]: no node agent is registered to repair {clusters.Vdisk}", health.StdOut);
        Assert.Contains("[WRN] REPAIR_IN_PROGRESS", health.StdOut);
        var status = await zdctl.RunAsync("status");
        Assert.Contains($"BLOCKED {engine} [{RepairBlockCodes.NoAgent}]", status.StdOut);

        var agent = TestNames.Unique("agent");
        await deployment.Etcd.PutJsonAsync(EtcdKeys.Agent(agent), new AgentRegistration(agent, "127.0.0.1:1", 0, DateTimeOffset.UtcNow));
        try
        {
            codes = await BlockedAsync(instance.Url, engine, c => c.Contains(RepairBlockCodes.LeaseLapsed));
            Assert.DoesNotContain(RepairBlockCodes.NoAgent, codes);
        }
        finally
        {
            await deployment.Etcd.DeleteAsync(EtcdKeys.Agent(agent));
        }
    }

    private static async Task<IReadOnlyList<string>> BlockedAsync(Uri clusterState, string engine, Func<IReadOnlyList<string>, bool> done)
    {
        IReadOnlyList<string> codes = [];
        await Eventually.UntilAsync(async () =>
        {
            if (await ServiceProcesses.GetAsync(new Uri(clusterState, "/status/repairs").ToString()) is not { Status: HttpStatusCode.OK } answer) return false;
            codes = answer.Body.GetProperty("repairs").EnumerateArray().Where(r => r.GetProperty("engine").GetString() == engine)
                .SelectMany(r => r.GetProperty("blocked").EnumerateArray().Select(b => b.GetProperty("code").GetString()!)).ToList();
            return done(codes);
        }, $"the repair of {engine} is reported blocked as expected (last: {string.Join(", ", codes)})", TimeSpan.FromSeconds(60));
        return codes;
    }
}
