using System.Net;
using System.Text.Json;
using StackExchange.Redis;
using ZeroDisk.ClusterState.Tests.Scheduler;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.ClusterState.Tests.Operability;

/// <summary>
/// A real Prometheus scrapes a running control plane (ClusterState, the scheduler and a node's
/// collector as processes, each answering /health/live, /health/ready and /metrics) with deploy/prometheus/alerts.yml.
/// A primary engine is SIGKILLed and reported while the NBD servers (played by the test) mark 300 blocks dirty for it
/// on its twin: the degraded-shard and dirty-blocks alerts fire and <c>zdctl health</c> says HEALTH_WARN with the
/// engine's named checks. The engine comes back; the played repair job copies the blocks in two steps, and the
/// progress (blocks, bytes, rate, ETA) shows in /status/repairs and <c>zdctl status</c>. Once the engine is online,
/// both alerts resolve and <c>zdctl health</c> says HEALTH_OK.
/// </summary>
[Collection(SchedulerScenarios.Name)]
public sealed class When_prometheus_watches_an_engine_outage
{
    private const int DirtyBlocks = 300;

    [Fact]
    public async Task The_degraded_shard_and_dirty_block_alerts_fire_during_the_outage_and_resolve_after_it()
    {
        var schedulerPort = FreePort.Next();
        var collectorPort = FreePort.Next();
        await using var scenario = await SchedulerScenario.StartAsync(
            clusterStateArguments: ["--ClusterState:Observer:Interval=00:00:00.5"],
            schedulerEnvironment: new Dictionary<string, string> { ["Operations__Url"] = $"http://127.0.0.1:{schedulerPort}" },
            clusterStateAsProcess: true);
        var deployment = scenario.Deployment;
        var clusterState = deployment.Instances[0].Url.ToString().TrimEnd('/');
        await using var collector = ServiceProcesses.StartCollector(deployment.VirtualHost.Uri.ToString(), collectorPort, TestNames.Unique("node"));
        var zdctl = new ZdctlCli(deployment);

        // Every health endpoint answers, and every service is ready (its bus and etcd reachable).
        foreach (var (url, what, process) in new[] { (clusterState, "clusterstate", null), ($"http://127.0.0.1:{schedulerPort}", "repairscheduler", scenario.Scheduler.Current), ($"http://127.0.0.1:{collectorPort}", "logcollector", collector) })
            await ServiceProcesses.WaitForHealthAsync(url, HttpStatusCode.OK, what, process);

        await using var prometheus = await PrometheusServer.StartAsync(new Dictionary<string, string>
        {
            ["zerodisk-clusterstate"] = new Uri(clusterState).Authority,
            ["zerodisk-repairscheduler"] = $"127.0.0.1:{schedulerPort}",
            ["zerodisk-logcollector"] = $"127.0.0.1:{collectorPort}",
        });
        await Eventually.UntilAsync(async () => (await prometheus.TargetsAsync()) is { Count: 3 } t && t.All(x => x.Health == "up"),
            "Prometheus scrapes all three services", TimeSpan.FromSeconds(60));
        var engine = scenario.Primary[0];
        await Eventually.UntilAsync(async () => (await prometheus.QueryAsync($"zerodisk_engine_state{{engine=\"{engine.Address}\",state=\"online\"}}")).Any(s => s.Value == 1),
            "Prometheus has the engine online", TimeSpan.FromSeconds(60));
        Assert.NotEmpty(await prometheus.QueryAsync("zerodisk_logcollector_lag_bytes >= 0 or up{job=\"zerodisk-logcollector\"}"));
        var healthy = await zdctl.RunAsync("health");
        Assert.True(healthy.ExitCode == 0 && healthy.StdOut.StartsWith("HEALTH_OK", StringComparison.Ordinal), healthy.StdOut + healthy.StdErr);

        // The outage: the engine dies; the NBD servers write on to its twin and mark the blocks dirty for it there.
        await engine.KillAsync();
        var twin = await scenario.DatabaseAsync(scenario.Slave[0]);
        var dirtyKey = $"dirty:{scenario.Vdisk}:{engine.Address}";
        await twin.SetAddAsync(dirtyKey, Enumerable.Range(0, DirtyBlocks).Select(i => (RedisValue)i).ToArray());
        await deployment.ReportFailureAsync(engine.Address);
        await scenario.WaitForAsync(engine, EngineState.Offline);

        await Eventually.UntilAsync(async () => Firing(await prometheus.AlertsAsync(), "ZeroDiskShardDegraded") && Firing(await prometheus.AlertsAsync(), "ZeroDiskDirtyBlocks", engine.Address),
            "the degraded-shard and dirty-blocks alerts fire", TimeSpan.FromSeconds(60));
        Assert.Contains(await prometheus.QueryAsync($"zerodisk_engine_dirty_blocks{{engine=\"{engine.Address}\"}}"), s => s.Value == DirtyBlocks);
        var incident = await zdctl.RunAsync("health", "detail");
        Assert.True(incident.ExitCode == 1, incident.StdOut + incident.StdErr);
        Assert.StartsWith("HEALTH_WARN", incident.StdOut);
        foreach (var check in new[] { "[WRN] ENGINE_OFFLINE", "[WRN] SHARD_DEGRADED", "[WRN] DIRTY_BLOCKS", $"{engine.Address} (cluster {scenario.PrimaryCluster}, shard 0) offline", $"{DirtyBlocks} block(s)", "first action: " })
            Assert.Contains(check, incident.StdOut);

        // Back with its data: the scheduler classifies the outage temporary and dispatches the repair to the played
        // agent, which copies the dirty blocks in two steps and reports completion as a real job does.
        var halfway = new TaskCompletionSource();
        scenario.OnJob = async job =>
        {
            await deployment.Etcd.PutJsonAsync(EtcdKeys.VdiskOwner(job.VdiskId), new VdiskOwner(scenario.AgentNode, VdiskOwnerKind.Repair, 1));
            _ = Task.Run(async () =>
            {
                await twin.SetRemoveAsync(dirtyKey, Enumerable.Range(0, DirtyBlocks / 3).Select(i => (RedisValue)i).ToArray());
                await halfway.Task;
                await twin.KeyDeleteAsync(dirtyKey);
                await scenario.CompleteAsync(job);
            });
        };
        await engine.RestartAsync();
        await scenario.WaitForAsync(engine, EngineState.RepairTmpOutage);
        var progress = await Eventually.ValueAsync(() => RepairAsync(clusterState, engine.Address),
            r => r is { } p && p.GetProperty("remainingBlocks").GetInt64() == DirtyBlocks * 2 / 3 && p.GetProperty("blocksPerSecond").ValueKind == JsonValueKind.Number,
            TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(250));
        Assert.Equal(DirtyBlocks, progress!.Value.GetProperty("totalBlocks").GetInt64());
        Assert.Equal(DirtyBlocks * 4096L, progress.Value.GetProperty("totalBytes").GetInt64());
        Assert.True(progress.Value.GetProperty("blocksPerSecond").GetDouble() > 0, progress.ToString());
        Assert.Equal(JsonValueKind.Number, progress.Value.GetProperty("etaSeconds").ValueKind);
        var status = await zdctl.RunAsync("status");
        Assert.True(status.ExitCode == 0, status.StdOut + status.StdErr);
        Assert.Contains("Repair progress:", status.StdOut);
        Assert.Contains($"{DirtyBlocks / 3}/{DirtyBlocks}", status.StdOut);
        Assert.Contains("blk/s", status.StdOut);
        halfway.SetResult();

        await scenario.WaitForAsync(engine, EngineState.Online);
        await deployment.Etcd.DeleteAsync(EtcdKeys.VdiskOwner(scenario.Vdisk));
        await Eventually.UntilAsync(async () => (await prometheus.AlertsAsync()).Count(a => a.Name is "ZeroDiskShardDegraded" or "ZeroDiskDirtyBlocks" or "ZeroDiskEngineOffline") == 0,
            "the alerts resolve", TimeSpan.FromSeconds(60));
        await Eventually.UntilAsync(async () => (await zdctl.RunAsync("health")) is { ExitCode: 0 } r && r.StdOut.StartsWith("HEALTH_OK", StringComparison.Ordinal),
            "zdctl health says HEALTH_OK", TimeSpan.FromSeconds(60));
    }

    private static bool Firing(IReadOnlyList<(string Name, string State, IReadOnlyDictionary<string, string> Labels)> alerts, string name, string? engine = null) =>
        alerts.Any(a => a.Name == name && a.State == "firing" && (engine is null || a.Labels.GetValueOrDefault("engine") == engine));

    private static async Task<JsonElement?> RepairAsync(string clusterState, string engine) =>
        await ServiceProcesses.GetAsync($"{clusterState}/status/repairs") is { Status: HttpStatusCode.OK } answer
            ? answer.Body.GetProperty("repairs").EnumerateArray().Where(r => r.GetProperty("engine").GetString() == engine).Select(r => (JsonElement?)r).FirstOrDefault()
            : null;
}
