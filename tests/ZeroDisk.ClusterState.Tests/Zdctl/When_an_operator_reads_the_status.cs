using System.Text.Json;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.ClusterState.Tests.Zdctl;

/// <summary>`zdctl status`: what etcd says about clusters, engines, vdisks and repairs, as text and as JSON.</summary>
public sealed class When_an_operator_reads_the_status
{
    [Fact]
    public async Task It_shows_an_engine_moved_by_a_failure_report_with_its_incident_progress_and_trace()
    {
        await using var deployment = await ClusterStateDeployment.CreateAsync();
        await deployment.StartInProcessAsync();
        var (primary, slave, primaryEngines, slaveEngines, vdisk) = await deployment.SeedMirroredClustersAsync();
        string e0 = primaryEngines[0], s0 = slaveEngines[0];
        await deployment.Etcd.PutJsonAsync(EtcdKeys.VdiskOwner(vdisk), new VdiskOwner("nbd-7", VdiskOwnerKind.Vm, 42));
        var zdctl = new ZdctlCli(deployment);

        var before = (await zdctl.RunAsync("status")).EnsureSuccess("zdctl status");
        Assert.Matches($@"{Regex(primary)}\s+healthy\s+2", before.StdOut);
        Assert.Matches($@"{Regex(e0)}\s+{Regex(primary)}\s+0\s+primary\s+online", before.StdOut);
        Assert.Matches($@"{Regex(s0)}\s+{Regex(slave)}\s+0\s+slave\s+online", before.StdOut);
        Assert.Matches($@"{Regex(vdisk)}\s+{Regex(primary)}\s+{Regex(slave)}\s+10GiB\s+4096\s+nbd-7 \(vm, epoch 42\)", before.StdOut);
        Assert.Contains("Repairs in progress:\n  (none)", before.StdOut.ReplaceLineEndings("\n"));

        await deployment.ReportFailureAsync(e0);
        await deployment.WaitForEngineAsync(primary, e0, EngineState.Offline);
        var saga = await deployment.EngineSagaAsync(e0);
        Assert.NotNull(saga!.IncidentTraceId);

        // An agent's repair job for the vdisk heartbeats under zerodisk/repairs/<vdisk> (held by its lease in real life).
        var job = new RepairJobStatus("node-9", vdisk, e0, RepairKind.Tmp, saga.Incident!, 7, "running", DateTimeOffset.UtcNow, DateTimeOffset.UtcNow);
        await deployment.Etcd.PutJsonAsync(EtcdKeys.RepairJob(vdisk), job);

        var after = (await zdctl.RunAsync("status")).EnsureSuccess("zdctl status");
        await deployment.Etcd.DeleteAsync(EtcdKeys.RepairJob(vdisk));
        Assert.Matches($@"{Regex(primary)}\s+repairing\s+2", after.StdOut);
        Assert.Matches($@"{Regex(e0)}\s+{Regex(primary)}\s+0\s+primary\s+offline\s+\S+ \(\S+ ago\)\s+{saga.Incident}", after.StdOut);
        Assert.Matches($@"{Regex(e0)}\s+offline\s+-\s+0/1 vdisks \(0%\)\s+{saga.Incident}\s+{saga.IncidentTraceId}", after.StdOut);
        Assert.Matches($@"{Regex(vdisk)}: (pending|running), job on node-9 running \(epoch 7, heartbeat \S+ ago\)", after.StdOut);

        using var json = JsonDocument.Parse((await zdctl.RunAsync("status", "--json")).EnsureSuccess("zdctl status --json").StdOut);
        var engine = json.RootElement.GetProperty("engines").EnumerateArray().Single(e => e.GetProperty("address").GetString() == e0);
        Assert.Equal("offline", engine.GetProperty("state").GetString());
        var repair = json.RootElement.GetProperty("repairs").EnumerateArray().Single();
        Assert.Equal(saga.IncidentTraceId, repair.GetProperty("traceId").GetString());
        Assert.Equal(1, repair.GetProperty("affectedVdisks").GetInt32());
        // The scope keeps other deployments' clusters out.
        Assert.All(json.RootElement.GetProperty("clusters").EnumerateArray(), c => Assert.StartsWith(deployment.Scope, c.GetProperty("id").GetString()));
    }

    private static string Regex(string text) => System.Text.RegularExpressions.Regex.Escape(text);
}
