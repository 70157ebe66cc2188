using System.CommandLine;
using ZeroDisk.Drill;

var outage = new Option<OutageMode>("--outage") { Description = "tmp: the engine comes back with its data; final: it never comes back", DefaultValueFactory = _ => OutageMode.Tmp };
var side = new Option<FailedSide>("--side") { Description = "which cluster loses an engine", DefaultValueFactory = _ => FailedSide.Primary };
var load = new Option<int>("--load-seconds") { Description = "how long fio writes and verifies", DefaultValueFactory = _ => 30 };
var timeout = new Option<int>("--timeout-seconds") { Description = "how long the repair may take", DefaultValueFactory = _ => 180 };
var crash = new Option<bool>("--crash-server") { Description = "afterwards, SIGKILL the VM's NBD server too: it must be restarted and the VM hook called" };
var killRepairAgent = new Option<bool>("--kill-repair-agent") { Description = "SIGKILL the agent running the repair job of the vdisk nobody serves, mid-job (with --outage final): the job must be dispatched again and resume" };
var crashTlog = new Option<bool>("--crash-tlog") { Description = "journal vd2 to three tlog servers and SIGKILL one under load: it must be restarted, the load must not notice" };
var chaos = new Option<bool>("--chaos") { Description = "during the incident SIGKILL node 1's collector, ClusterState, the scheduler, RabbitMQ and etcd once each (restarts the infrastructure with scripts/infra.sh: use scripts/chaos.sh)" };
var setupOnly = new Option<bool>("--setup-only") { Description = "only set the deployment up with zdctl through the admin API and check that it serves (qemu-io), then stop" };
var observe = new Option<bool>("--observe") { Description = "prove the monitoring works too: a real Prometheus (deploy/prometheus/alerts.yml) scrapes every service and headless Chromium watches the status page; their alerts and what the page showed become checks (with --outage tmp)" };
var clusterStates = new Option<int>("--clusterstate-instances") { Description = "ClusterState instances side by side", DefaultValueFactory = _ => 1 };
var root = new RootCommand("ZeroDisk failure drill: SIGKILL a storage engine under load and prove nothing is lost") { outage, side, load, timeout, crash, killRepairAgent, crashTlog, chaos, clusterStates, setupOnly, observe };
root.SetAction(async (parse, ct) =>
{
    var configuration = AppContext.BaseDirectory.Contains("/bin/Debug/", StringComparison.Ordinal) ? "Debug" : "Release";
    var options = new DrillOptions(parse.GetValue(outage), parse.GetValue(side), TimeSpan.FromSeconds(parse.GetValue(load)), TimeSpan.FromSeconds(parse.GetValue(timeout)), configuration, parse.GetValue(crash))
    {
        KillRepairAgent = parse.GetValue(killRepairAgent), CrashTlog = parse.GetValue(crashTlog), Chaos = parse.GetValue(chaos),
        ClusterStateInstances = Math.Max(1, parse.GetValue(clusterStates)), SetupOnly = parse.GetValue(setupOnly),
        Observe = parse.GetValue(observe),
    };
    if (options is { KillRepairAgent: true, Outage: OutageMode.Tmp })
    {
        Console.Error.WriteLine("--kill-repair-agent needs --outage final: after a temporary outage the vdisk nobody serves has nothing to repair");
        return 2;
    }
    if (options is { Observe: true } and ({ Outage: OutageMode.Final } or { SetupOnly: true }))
    {
        Console.Error.WriteLine("--observe needs a temporary outage (--outage tmp, not --setup-only): the status page must see the engine come back online");
        return 2;
    }
    var report = new DrillReport();
    try
    {
        await new DrillRun(options, report).RunAsync(ct);
    }
    catch (Exception ex)
    {
        report.Check("drill ran to the end", false, ex.Message);
    }
    report.PrintSummary(options.SetupOnly ? "Drill: set up from nothing" : $"Drill: {options.Outage} outage of a {options.Side} engine");
    return report.AllHeld ? 0 : 1;
});
return await root.Parse(args).InvokeAsync();
