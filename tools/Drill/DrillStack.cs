using ZeroDisk.LocalStack;

namespace ZeroDisk.Drill;

/// <summary>
/// The stack the drill runs on, all real processes: private primary and slave engines, ClusterState,
/// RepairScheduler, and two nodes (an NbdHost agent and a LogCollector each, with their own log directory) on the
/// shared RabbitMQ and etcd. Every name starts with <see cref="Id"/>, so the drill never touches anything else.
/// </summary>
public sealed class DrillStack : IAsyncDisposable
{
    private readonly List<ManagedProcess> _services = [];
    private readonly Dictionary<int, ManagedProcess> _agents = [];

    public required string Id { get; init; }
    public required string Root { get; init; }
    public required InfrastructureEndpoints Endpoints { get; init; }
    public required RedisClusters Engines { get; init; }
    public required int AdminPort { get; init; }
    /// <summary>Node 1 serves NBD on this port, node 2 on the next one (<see cref="FreePort.NextPair"/>).</summary>
    public required int NbdPort { get; init; }
    /// <summary>OTEL_* variables every service gets, so their spans reach the drill's trace receiver.</summary>
    public IReadOnlyDictionary<string, string> Telemetry { get; init; } = new Dictionary<string, string>();
    /// <summary>Where the clean-up at the end reports (its check is in the drill's table).</summary>
    public DrillReport? Report { get; init; }
    public string PrimaryCluster => $"{Id}-primary";
    public string SlaveCluster => $"{Id}-slave";
    public string Node(int n) => $"{Id}-node{n}";
    public string NodeLogs(int n) => Path.Combine(Root, $"node{n}", "logs");
    public string NodeState(int n) => Path.Combine(Root, $"node{n}", "state");
    public string NbdServer => $"{Id}-nbd1";
    /// <summary>Node 2's NBD server: it writes vd3, then stops exporting it, so vd3 is a vdisk nobody serves.</summary>
    public string ParkedServer => $"{Id}-nbd2";
    public string VmHookCalls => Path.Combine(Root, "vm-hook.calls");
    /// <summary>The admin API's token (ClusterState:AdminTokenFile), a secret file only this user can read, as an operator would keep it.</summary>
    public string AdminTokenFile => Path.Combine(Root, "admin.token");
    public IReadOnlyList<ManagedProcess> Services => _services;

    /// <summary>
    /// With <see cref="DrillOptions.Observe"/>: every /metrics of the stack by Prometheus job (deploy/prometheus's job
    /// names), host:port each; empty otherwise (then the services keep their default operations URLs, as before).
    /// </summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> MetricsTargets => _metrics.ToDictionary(j => j.Key, j => (IReadOnlyList<string>)j.Value);

    private readonly Dictionary<string, List<string>> _metrics = [];
    private readonly Dictionary<(string Job, int Node), string> _operationsUrls = [];

    /// <summary>
    /// The operations URL (/health, /metrics) of a service of <paramref name="job"/> (node <paramref name="node"/>, 0
    /// for a control-plane service) under --observe, the same for a restarted one; null without --observe.
    /// </summary>
    private string? OperationsUrl(DrillOptions options, string job, int node = 0)
    {
        if (!options.Observe) return null;
        if (_operationsUrls.TryGetValue((job, node), out var url)) return url;
        var address = $"127.0.0.1:{FreePort.Next()}";
        AddMetricsTarget(job, address);
        return _operationsUrls[(job, node)] = $"http://{address}";
    }

    private void AddMetricsTarget(string job, string address)
    {
        if (!_metrics.TryGetValue(job, out var targets)) _metrics[job] = targets = [];
        targets.Add(address);
    }

    private static Dictionary<string, string> WithOperationsUrl(Dictionary<string, string> environment, string? url)
    {
        if (url is not null) environment["Operations__Url"] = url;
        return environment;
    }

    public void StartServices(DrillOptions options)
    {
        var env = ServiceEnvironment(options);
        File.WriteAllText(AdminTokenFile, Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)));
        if (OperatingSystem.IsLinux()) File.SetUnixFileMode(AdminTokenFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);

        // Instances side by side share their queues and their sagas in etcd; the first one's admin API is the drill's.
        for (var i = 0; i < options.ClusterStateInstances; i++)
        {
            var port = i == 0 ? AdminPort : FreePort.Next();
            // ClusterState answers /metrics on its admin port; its observer reads the gauges every second for the drill's Prometheus.
            var observed = options.Observe ? new Dictionary<string, string> { ["ClusterState__Observer__Interval"] = "00:00:01" } : [];
            if (options.Observe) AddMetricsTarget("zerodisk-clusterstate", $"127.0.0.1:{port}");
            _services.Add(ManagedProcess.Start(i == 0 ? "clusterstate" : $"clusterstate{i + 1}", "dotnet",
                [Dll(options, "ClusterState", "clusterstate"), "--urls", $"http://127.0.0.1:{port}"],
                new Dictionary<string, string>(env)
                {
                    ["ClusterState__EndpointPrefix"] = $"{Id}-",
                    ["ClusterState__KeyScope"] = Id,
                    ["ClusterState__ReconcileInterval"] = "00:00:05",
                    ["ClusterState__AdminTokenFile"] = AdminTokenFile,
                }.Concat(observed).ToDictionary(), Root));
        }
        _services.Add(ManagedProcess.Start("repairscheduler", "dotnet", [Dll(options, "RepairScheduler", "repairscheduler")],
            WithOperationsUrl(new Dictionary<string, string>(env)
            {
                ["Scheduler__EndpointPrefix"] = $"{Id}-",
                ["Scheduler__GracePeriod"] = "00:00:02",
                ["Scheduler__ProbeInterval"] = "00:00:00.3",
                ["Scheduler__Deadline"] = options.Deadline.ToString(),
                ["Scheduler__RepairScanInterval"] = "00:00:01",
                ["Scheduler__DispatchTimeout"] = "00:00:08",
            }, OperationsUrl(options, "zerodisk-repairscheduler")), Root));

        File.WriteAllText(Path.Combine(Root, "vm-hook.sh"), $"#!/bin/sh\necho \"$@\" >> '{VmHookCalls}'\n");
        if (OperatingSystem.IsLinux()) File.SetUnixFileMode(Path.Combine(Root, "vm-hook.sh"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        foreach (var n in new[] { 1, 2 })
        {
            Directory.CreateDirectory(NodeLogs(n));
            StartAgent(n, options);
            _services.Add(ManagedProcess.Start($"node{n}-collector", "dotnet", [Dll(options, "LogCollector", "logcollector")],
                WithOperationsUrl(new Dictionary<string, string>(env)
                {
                    ["LogCollector__Node"] = Node(n),
                    ["LogCollector__Directory"] = NodeLogs(n),
                }, OperationsUrl(options, "zerodisk-logcollector", n)), Root));
        }
    }

    /// <summary>The agent of node <paramref name="n"/> (again, on the same directories: it adopts its children).</summary>
    public void StartAgent(int n, DrillOptions options)
    {
        var port = n == 1 ? NbdPort : NbdPort + 1;
        // Paced repair jobs give the drill time to kill an agent in the middle of one.
        var repair = options.KillRepairAgent
            ? $"env Storage__RepairBytesPerSecond={RepairJobBytesPerSecond} {{self}} serve --repair {{vdisk}} --engine {{address}} --kind {{kind}} --incident {{incident}} --epoch {{epoch}}"
            : null;
        // The agent strips Operations__Url from its children's environment: the NBD server gets its own on its command line.
        var nbdOperations = OperationsUrl(options, "zerodisk-nbd", n) is { } nbdUrl ? $" --operations-url {nbdUrl}" : "";
        var agent = ManagedProcess.Start($"node{n}-agent", "dotnet",
            [
                Dll(options, "NbdHost", "nbdhost"), "agent", "--node", Node(n), "--log-dir", NodeLogs(n), "--state-dir", NodeState(n),
                "--etcd", Endpoints.EtcdEndpoints, "--storage-address", "127.0.0.1", "--repair-lease-ttl", "5",
                "--vm-hook", Path.Combine(Root, "vm-hook.sh"),
                "--nbd-command", $"{{self}} serve --id {{id}} --listen 127.0.0.1:{port} --etcd {Endpoints.EtcdEndpoints}{nbdOperations}",
                .. repair is null ? Array.Empty<string>() : ["--repair-command", repair],
            ],
            // The NBD servers inherit this: on a machine busy with the drill's own load a 500 ms command timeout
            // would take a slow engine for a dead one.
            WithOperationsUrl(new Dictionary<string, string>(ServiceEnvironment(options)) { ["Storage__CommandTimeout"] = "00:00:02" },
                OperationsUrl(options, "zerodisk-agent", n)), Root);
        _agents[n] = agent;
        _services.Add(agent);
    }

    /// <summary>SIGKILL of node <paramref name="n"/>'s agent alone: its children live on, as they would on a real node.</summary>
    public Task KillAgentAsync(int n) => _agents[n].KillAsync();

    /// <summary>SIGKILL of one service (by name, e.g. <c>clusterstate</c>), and after <paramref name="down"/> the same command again.</summary>
    public async Task<(int Killed, int Started)> CrashAndRestartAsync(string name, TimeSpan down, CancellationToken ct)
    {
        var index = _services.FindLastIndex(s => s.Name == name);
        var victim = _services[index];
        await victim.KillAsync();
        await Task.Delay(down, ct);
        var again = victim.StartAgain();
        _services.Add(again);
        return (victim.Pid, again.Pid);
    }

    /// <summary>Repair jobs' copy rate when the drill kills an agent mid-job (bytes per second).</summary>
    public const long RepairJobBytesPerSecond = 512L << 10;

    private Dictionary<string, string> ServiceEnvironment(DrillOptions options) =>
        new(Endpoints.ToEnvironment().Concat(Telemetry)) { ["DOTNET_gcServer"] = "0" };

    private static string Dll(DrillOptions options, string project, string name) =>
        Path.Combine(RepoPaths.Root, "services", project, "bin", options.Configuration, "net10.0", name + ".dll");

    /// <summary>
    /// A pid file may outlive its process, and the pid be reused: kill only an nbdhost whose command line names this
    /// stack (or the server the file is named after). Killing by a stale pid file once took the fault checker's long
    /// run down with a whole process tree (a concurrent run's script, its checker and its services).
    /// </summary>
    private bool IsOurChild(int pid, string pidFile)
    {
        string cmdline;
        try { cmdline = File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' '); }
        catch (IOException) { return false; }
        var named = Path.GetFileNameWithoutExtension(pidFile);
        named = named[(named.IndexOf('-') + 1)..];
        return cmdline.Contains("nbdhost", StringComparison.Ordinal) && (cmdline.Contains(Id, StringComparison.Ordinal) || cmdline.Contains(named, StringComparison.Ordinal));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var service in _services) await service.DisposeAsync();
        // The agents' children run in their own sessions (they outlive an agent by design): stop them by pid file.
        foreach (var n in new[] { 1, 2 })
        {
            if (!Directory.Exists(NodeState(n))) continue;
            foreach (var pidFile in Directory.EnumerateFiles(NodeState(n), "*.pid", SearchOption.AllDirectories))
            {
                if (!int.TryParse(File.ReadAllText(pidFile).Trim(), out var pid) || !IsOurChild(pid, pidFile)) continue;
                try { System.Diagnostics.Process.GetProcessById(pid).Kill(entireProcessTree: true); }
                catch (Exception ex) when (ex is ArgumentException or InvalidOperationException) { /* already gone */ }
            }
        }
        await Engines.DisposeAsync();
        await RabbitMqManagement.DeleteEndpointsAsync(Endpoints, Id);
        const string check = "the drill's keys removed from etcd (zdctl status no longer lists it)";
        try
        {
            var (removed, left) = await DrillCleanup.RemoveAsync(Endpoints.EtcdEndpoints, Id);
            Report?.Check(check, left == 0, $"{removed} key(s) naming {Id} removed, {left} left");
        }
        catch (Grpc.Core.RpcException ex)
        {
            Report?.Check(check, false, $"etcd: {ex.Status.Detail}");
        }
    }
}
