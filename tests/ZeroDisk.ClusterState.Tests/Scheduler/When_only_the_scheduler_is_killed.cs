using ZeroDisk.ClusterState.StorageEngines;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.ClusterState.Tests.Scheduler;

/// <summary>
/// Work taken from the bus survives a crash: the scheduler's analyses and campaigns are recorded in etcd before it
/// acknowledges the transition that started them and resumed on start, inside the incident's trace. The scheduler
/// process alone is SIGKILLed right after offline, mid-analysis and mid-campaign; the incident still ends, each
/// transition once, and every scheduler span is in the incident's one trace.
/// </summary>
[Collection(SchedulerScenarios.Name)]
public sealed class When_only_the_scheduler_is_killed
{
    [Fact]
    public async Task The_incident_ends_after_each_restart_with_each_transition_once_in_one_trace()
    {
        await using var otlp = OtlpHttpReceiver.Start();
        var exporter = new Dictionary<string, string>(otlp.ExporterEnvironment()) { ["OTEL_BSP_SCHEDULE_DELAY"] = "500" };
        await using var scenario = await SchedulerScenario.StartAsync(schedulerEnvironment: exporter);
        var etcd = scenario.Deployment.Etcd;
        var engine = scenario.Primary[0];
        scenario.OnJob = job => etcd.PutJsonAsync(EtcdKeys.VdiskOwner(job.VdiskId), new VdiskOwner(scenario.AgentNode, VdiskOwnerKind.Repair, 1)); // a paced job: it holds the vdisk
        var work = $"zerodisk/scheduler/{scenario.Scheduler.Prefix}";

        // 1. Killed right after offline: the analysis is recorded (so the transition was taken from the bus).
        await engine.KillAsync();
        await scenario.Deployment.ReportFailureAsync(engine.Address);
        await Eventually.UntilAsync(async () => (await etcd.GetAsync($"{work}/analysis/{engine.Address}")).Kvs.Count > 0, "the analysis is recorded");
        await scenario.Scheduler.KillAsync();
        var incident = await scenario.IncidentAsync(engine);

        // 2. Killed mid-analysis: resumed, probing the dead engine.
        await scenario.Scheduler.RestartAsync();
        await scenario.Scheduler.Current.WaitForStdOutAsync(l => l.Contains("Resuming the Analysis", StringComparison.Ordinal), "the analysis is resumed");
        await scenario.Scheduler.Current.WaitForStdOutAsync(l => l.Contains("Unreachable", StringComparison.Ordinal), "the resumed analysis probes");
        await scenario.Scheduler.KillAsync();
        Assert.Equal(EngineState.Offline, await scenario.StateAsync(engine));

        // 3. The engine is back; killed mid-campaign, while the dispatched job holds the vdisk.
        await engine.RestartAsync();
        await scenario.Scheduler.RestartAsync();
        var job = await scenario.JobAsync(1, TimeSpan.FromSeconds(90));
        Assert.Equal((RepairKind.Tmp, incident), (job.Kind, job.Incident));
        await Eventually.UntilAsync(async () => (await etcd.GetAsync($"{work}/campaign/{engine.Address}")).Kvs.Count > 0, "the campaign is recorded");
        await Eventually.TrueAsync(() => otlp.Spans.Any(s => s is { Service: "repairscheduler", Name: "analyse outage" }), TimeSpan.FromSeconds(30), "the finished analysis is exported");
        await scenario.Scheduler.KillAsync();

        // 4. Restarted: the campaign resumes; the job finishes; the completion and the verification end the incident.
        await scenario.Scheduler.RestartAsync();
        await scenario.Scheduler.Current.WaitForStdOutAsync(l => l.Contains("Resuming the Campaign", StringComparison.Ordinal), "the campaign is resumed");
        // As a real job ends: its completion is written (and counted) before its lease ends; a vdisk left unowned and
        // not complete is a job that died, which the campaign rightly dispatches again.
        await scenario.CompleteAsync(job);
        await scenario.WaitForAsync(engine, EngineState.Online);
        await etcd.DeleteAsync(EtcdKeys.VdiskOwner(job.VdiskId));
        await scenario.Deployment.WaitForClusterAsync(scenario.PrimaryCluster, ClusterStatus.Healthy);
        await scenario.Deployment.WaitForClusterAsync(scenario.SlaveCluster, ClusterStatus.Healthy);
        var saga = await scenario.Deployment.EngineSagaAsync(engine.Address);
        Assert.Equal([EngineStateNames.Offline, EngineStateNames.RepairingTmpOutage, EngineStateNames.Online], saga!.History.Select(h => h.To));
        Assert.Single(scenario.Jobs); // the resumed campaign saw the job holding the vdisk: nothing dispatched twice
        Assert.Equal(4, scenario.Scheduler.Starts);

        // One trace: every span of the resumed analysis and campaign carries the incident's trace id.
        await Eventually.UntilAsync(async () => (await etcd.GetRangeAsync(work + "/")).Kvs.Count == 0, "the scheduler's records are gone once the work is done");
        await scenario.Scheduler.StopGracefullyAsync();
        await Eventually.TrueAsync(() => otlp.Spans.Any(s => s is { Service: "repairscheduler", Name: "repair campaign" }), TimeSpan.FromSeconds(30), "the campaign span is exported");
        await Eventually.TrueAsync(() => otlp.Spans.Any(s => s is { Service: "repairscheduler", Name: "verify repair" }), TimeSpan.FromSeconds(30), "the verification span is exported");
        var spans = otlp.Spans.Where(s => s.Service == "repairscheduler" && s.Name is "analyse outage" or "repair campaign" or "verify repair").ToList();
        Assert.Contains(spans, s => s.Name == "analyse outage");
        Assert.Contains(spans, s => s.Name == "verify repair");
        Assert.All(spans, s => Assert.Equal(saga.IncidentTraceId, s.TraceId));
    }
}
