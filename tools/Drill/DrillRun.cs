using System.Net.Http.Json;
using System.Security.Cryptography;
using dotnet_etcd;
using StackExchange.Redis;
using ZeroDisk.Contracts;
using ZeroDisk.ServiceDefaults.Engines;
using ZeroDisk.ServiceDefaults.Etcd;
using ZeroDisk.LocalStack;

namespace ZeroDisk.Drill;

/// <summary>
/// The failure drill: create vdisks, serve one under an fio write-and-verify load, SIGKILL an engine, watch the
/// failover, the state transitions and the repair, and prove no data was lost and every cluster is healthy.
/// </summary>
public sealed class DrillRun(DrillOptions options, DrillReport report)
{
    private const int VdiskGiB = 1;
    private const int ImageMiB = 64;
    private const int ParkedMiB = 16;

    public async Task RunAsync(CancellationToken ct)
    {
        var endpoints = await LocalInfrastructure.GetAsync();
        var id = "drill-" + Guid.NewGuid().ToString("N")[..8];
        var root = Path.Combine(RepoPaths.Root, "run", "drill", id);
        Directory.CreateDirectory(root);
        report.Progress($"Drill {id}: {options.Outage} outage of a {options.Side} engine; logs in {root}");
        report.Progress($"etcd {endpoints.EtcdEndpoints} ({endpoints.EtcdEndpoints.Split(',').Length} member(s)); {options.ClusterStateInstances} ClusterState instance(s)");

        await using var traces = OtlpHttpReceiver.Start();
        await using var stack = new DrillStack
        {
            Id = id, Root = root, Endpoints = endpoints, Engines = await RedisClusters.StartAsync(2, registered: false),
            AdminPort = FreePort.Next(), NbdPort = FreePort.NextPair(), Telemetry = traces.ExporterEnvironment(), Report = report,
        };
        using var etcd = EtcdExtensions.CreateClient(endpoints.EtcdEndpoints);
        if (await DrillCleanup.RemoveLeftoversAsync(endpoints.EtcdEndpoints, ct) is { Drills: > 0 } leftovers)
            report.Progress($"Removed what {leftovers.Drills} earlier drill(s) that did not end cleanly left in etcd: {leftovers.Removed} key(s)");
        stack.StartServices(options);
        report.Progress($"Started {string.Join(", ", stack.Services.Select(s => $"{s.Name} (pid {s.Pid})"))}");
        report.Progress($"Status page of the drill's ClusterState: http://127.0.0.1:{stack.AdminPort}/status/");

        using var admin = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{stack.AdminPort}/"), Timeout = TimeSpan.FromSeconds(10) };
        await WaitAsync("ClusterState admin API answers", async () => (await admin.GetAsync("health", ct)).IsSuccessStatusCode, TimeSpan.FromSeconds(180), ct);
        await WaitAsync("both agents registered", async () => (await etcd.GetRangeAsync(EtcdKeys.AgentPrefix + id, cancellationToken: ct)).Kvs.Count >= 2, TimeSpan.FromSeconds(180), ct);

        // From nothing, as an operator would: clusters (identity markers on the engines and in etcd), vdisks, which
        // server exports which vdisk, and the servers started by their nodes' agents — all with zdctl, through the API.
        var setup = new DrillSetup(stack, options, report);
        if (!await setup.ClustersAsync(etcd)) return;
        string vd1 = $"{id}-vd1", vd2 = $"{id}-vd2", vd3 = $"{id}-vd3";
        var tlog = options.CrashTlog ? await StartTlogServersAsync(stack, setup, ct) : null;
        foreach (var vdisk in new[] { vd1, vd2, vd3 })
        {
            string[] tlogArgs = vdisk == vd2 && tlog is not null ? ["--tlog-cluster", tlog.ClusterId] : [];
            await setup.ZdctlAsync(["vdisk", "create", vdisk, "--cluster", stack.PrimaryCluster, "--slave-cluster", stack.SlaveCluster, "--size", $"{VdiskGiB}GiB",
                "--block-size", "4096", .. tlogArgs]);
        }
        await setup.ZdctlAsync("nbdserver", "assign", stack.NbdServer, vd1);
        await setup.ZdctlAsync("nbdserver", "assign", stack.NbdServer, vd2);
        await setup.ZdctlAsync("nbdserver", "assign", stack.ParkedServer, vd3);
        await setup.ZdctlAsync("nbdserver", "start", stack.NbdServer, "--node", stack.Node(1));
        await setup.ZdctlAsync("nbdserver", "start", stack.ParkedServer, "--node", stack.Node(2));
        var uri = (string vdisk) => $"nbd://127.0.0.1:{(vdisk == vd3 ? stack.NbdPort + 1 : stack.NbdPort)}/{vdisk}";
        var serving = await WaitAsync("the agent started the NBD server", async () => (await ExternalProcess.RunAsync("nbdinfo", [uri(vd1)], TimeSpan.FromSeconds(10))).ExitCode == 0, TimeSpan.FromSeconds(90), ct);
        report.Check("NBD server serves through the agent", serving, uri(vd1));
        if (options.SetupOnly)
        {
            await setup.CheckServedVdiskAsync(uri(vd1), vd1);
            return;
        }

        var engines = options.Side == FailedSide.Primary ? stack.Engines.Primary : stack.Engines.Slave;
        var victim = engines[0];
        await using var observation = options.Observe ? await DrillObservation.StartAsync(stack, report, victim.Address, ct) : null;

        // vd3 gets data, then its VM stops (no server exports it): its repair must come from a dispatched job.
        var parkedImage = Path.Combine(root, "vd3.img");
        await File.WriteAllBytesAsync(parkedImage, RandomNumberGenerator.GetBytes(ParkedMiB << 20), ct);
        var parked = await WaitAsync("node 2's NBD server serves vd3", async () => (await ExternalProcess.RunAsync("nbdinfo", [uri(vd3)], TimeSpan.FromSeconds(10))).ExitCode == 0, TimeSpan.FromSeconds(90), ct)
                     && (await ExternalProcess.RunAsync("nbdcopy", [parkedImage, uri(vd3)], TimeSpan.FromMinutes(3))).ExitCode == 0;
        parked &= await setup.ZdctlAsync("nbdserver", "unassign", stack.ParkedServer, vd3);
        parked &= await WaitAsync("vd3's owner key released", async () => (await etcd.GetAsync(EtcdKeys.VdiskOwner(vd3), cancellationToken: ct)).Kvs.Count == 0, TimeSpan.FromSeconds(30), ct);
        report.Check("vd3 written, then no longer served", parked, $"{ParkedMiB} MiB, md5 {FileHashes.Md5(parkedImage)}; owner key released");

        // vd2 holds a known image: its checksum after the repair is the proof that nothing was lost.
        var image = Path.Combine(root, "vd2.img");
        await File.WriteAllBytesAsync(image, RandomNumberGenerator.GetBytes(ImageMiB << 20), ct);
        var written = await ExternalProcess.RunAsync("nbdcopy", [image, uri(vd2)], TimeSpan.FromMinutes(3));
        report.Check("known image written to vd2", written.ExitCode == 0, $"{ImageMiB} MiB, md5 {FileHashes.Md5(image)}");

        var fio = ExternalProcess.RunAsync("fio",
        [
            "--name=drill", "--ioengine=nbd", $"--uri={uri(vd1)}", "--rw=randwrite", "--bs=4k", "--iodepth=16", "--numjobs=2",
            "--size=128m", "--time_based", $"--runtime={(int)options.Load.TotalSeconds}", "--verify=crc32c", "--verify_backlog=512",
            "--verify_fatal=1", "--verify_state_save=0", "--group_reporting",
        ], options.Load + TimeSpan.FromMinutes(5));
        report.Progress($"fio: 4K random writes with crc32c verification on vd1 for {options.Load.TotalSeconds:F0} s");
        await Task.Delay(options.Load / 4, ct);

        var cluster = options.Side == FailedSide.Primary ? stack.PrimaryCluster : stack.SlaveCluster;
        observation?.IncidentStarts();
        await victim.KillAsync();
        report.Progress($"SIGKILLed {options.Side.ToString().ToLowerInvariant()} engine {victim.Address} (shard 0 of {cluster})");

        var watch = new EngineWatch(etcd, cluster, victim.Address, report);
        var restart = Task.CompletedTask;
        if (options.Outage == OutageMode.Tmp)
            restart = Task.Delay(options.Downtime, ct).ContinueWith(async _ =>
            {
                await victim.RestartAsync();
                report.Progress($"engine {victim.Address} restarted with its old data (a reboot)");
            }, ct).Unwrap();

        var end = options.Outage == OutageMode.Tmp ? EngineState.Online : EngineState.Rip;
        var agentKill = options.KillRepairAgent ? KillRepairAgentAsync(stack, etcd, vd3, ct) : Task.CompletedTask;
        var chaos = options.Chaos ? new ChaosSchedule(stack, watch, report) : null;
        var chaosRun = chaos?.RunAsync(ct) ?? Task.CompletedTask;
        var repaired = await watch.UntilAsync(end, options.Timeout, ct);
        await restart;
        await agentKill;
        await chaosRun;
        if (chaos is not null)
        {
            foreach (var (component, at, what) in chaos.Crashes) report.Progress($"chaos table: {at.TotalSeconds,6:0.0} s  {component,-16} {what}");
            repaired = await watch.UntilAsync(end, options.Timeout, ct); // still there after the last crash
        }
        var fioResult = await fio;

        report.Check("no I/O error and every block verified during failover and repair (fio)", fioResult.ExitCode == 0,
            fioResult.ExitCode == 0 ? FioSummary(fioResult.StdOut) : $"fio exited {fioResult.ExitCode}: {Tail(fioResult.StdErr + fioResult.StdOut)}");
        var failureLines = FailureLines(stack, victim.Address);
        report.Check("failure reported once on the VM's NBD server's stderr", failureLines == 1, $"{failureLines} storageengine-failure line(s) for {victim.Address}");
        report.Check("engine went offline", watch.Seen.Contains(EngineState.Offline), string.Join(" -> ", watch.Seen.Select(s => s.ToWire())));
        var repairState = options.Outage == OutageMode.Tmp ? EngineState.RepairTmpOutage : EngineState.RepairFinalOutage;
        report.Check($"outage classified {options.Outage.ToString().ToLowerInvariant()}", watch.Seen.Contains(repairState), $"saw {repairState.ToWire()}: {watch.Seen.Contains(repairState)}");
        report.Check($"engine {end.ToWire()} after the repair", repaired, $"state now {(await watch.CurrentAsync(ct))?.ToWire() ?? "?"}");
        await CheckTransitionsOnceAsync(admin, victim.Address, ct);
        if (observation is not null) await observation.CheckAsync(ct);

        await CheckIncidentTraceAsync(traces, ct);
        await File.WriteAllLinesAsync(Path.Combine(root, "spans.tsv"),
            traces.Spans.Select(s => string.Join('\t', s.TraceId, s.SpanId, s.ParentSpanId, s.Service, s.Name)), ct);

        var statuses = new List<string>();
        foreach (var c in new[] { stack.PrimaryCluster, stack.SlaveCluster })
            statuses.Add($"{c}={(await etcd.GetAsync(EtcdKeys.ClusterStatus(c), cancellationToken: ct)).Kvs.FirstOrDefault()?.Value.ToStringUtf8()}");
        report.Check("every cluster healthy", statuses.All(s => s.EndsWith("=healthy", StringComparison.Ordinal)), string.Join(", ", statuses));

        await CheckReadBackAsync("checksum of vd2 equals what was written", uri(vd2), image, ImageMiB << 20);

        var job = RepairJobCompleted(stack, vd3, victim.Address);
        report.Check("vd3 (not running) repaired by a job an agent ran", job is not null, job ?? "no repair-only server reported completion for vd3");
        await setup.ZdctlAsync("nbdserver", "assign", stack.ParkedServer, vd3);
        if (await WaitAsync("vd3 served again", async () => (await ExternalProcess.RunAsync("nbdinfo", [uri(vd3)], TimeSpan.FromSeconds(10))).ExitCode == 0, TimeSpan.FromSeconds(60), ct))
            await CheckReadBackAsync("checksum of vd3 equals what was written", uri(vd3), parkedImage, ParkedMiB << 20);
        else
            report.Check("checksum of vd3 equals what was written", false, "vd3 could not be read back: not served again");

        if (options.Outage == OutageMode.Tmp)
        {
            var mismatches = await MirrorMismatchesAsync(stack, [vd1, vd2]);
            report.Check("primary and slave hold identical blocks", mismatches == 0, $"{mismatches} block(s) differ");
        }

        if (options.CrashServer) await CrashServerAsync(stack, uri(vd2), image, ct);
        if (tlog is not null) await CrashTlogServerAsync(stack, tlog, uri(vd2), ct);
    }

    /// <summary>
    /// The agent running vd3's repair job dies mid-job. Its repair process, orphaned, must stop once the lease
    /// lapses; the scheduler dispatches the job again and the new job resumes from the respread cursor.
    /// </summary>
    private async Task KillRepairAgentAsync(DrillStack stack, EtcdClient etcd, string vdisk, CancellationToken ct)
    {
        VdiskOwner? first = null;
        async Task<VdiskOwner?> RepairOwnerAsync() => (await etcd.GetJsonAsync<VdiskOwner>(EtcdKeys.VdiskOwner(vdisk), ct))?.Value is { Kind: VdiskOwnerKind.Repair } owner ? owner : null;
        var claimed = await WaitAsync($"{vdisk}'s repair job to be claimed", async () => (first = await RepairOwnerAsync()) is not null, options.Timeout, ct);
        if (!claimed || first is null)
        {
            report.Check($"{vdisk}'s repair job claimed by an agent", false, "no repair owner key appeared");
            return;
        }
        var n = first.Server == $"repair@{stack.Node(1)}" ? 1 : 2;
        var pidFile = Path.Combine(stack.NodeState(n), $"nbdserver-repair-{vdisk}.pid");
        var orphan = 0;
        await WaitAsync("the repair process's pid", async () => File.Exists(pidFile) && int.TryParse((await File.ReadAllTextAsync(pidFile, ct)).Trim(), out orphan), TimeSpan.FromSeconds(30), ct);
        // Mid-job means some batches moved and their cursor saved: a progress line with blocks done (a busy machine
        // can take seconds just to start the repair process).
        await WaitAsync("the repair job's first progress", () => Task.FromResult(RepairLogs(stack, vdisk).Any(l =>
            System.Text.RegularExpressions.Regex.IsMatch(l, @"progress: [1-9]\d*/"))), TimeSpan.FromSeconds(90), ct);
        await Task.Delay(TimeSpan.FromSeconds(1), ct);
        await stack.KillAgentAsync(n);
        report.Progress($"SIGKILLed {stack.Node(n)}'s agent in the middle of {vdisk}'s repair job (epoch {first.Epoch}, repair process pid {orphan} left behind)");
        var stopped = await WaitAsync("the orphaned repair process to stop", () => Task.FromResult(!ProcessState.IsAlive(orphan)), TimeSpan.FromSeconds(30), ct);
        report.Check("orphaned repair process stopped once its lease lapsed", stopped && orphan > 0, $"pid {orphan} alive: {ProcessState.IsAlive(orphan)}");
        stack.StartAgent(n, options); // as a node's init system would
        report.Progress($"restarted {stack.Node(n)}'s agent");
        VdiskOwner? second = null;
        var again = await WaitAsync($"{vdisk}'s job dispatched again", async () => (second = await RepairOwnerAsync()) is { } o && o.Epoch > first.Epoch, options.Timeout, ct);
        report.Check($"{vdisk}'s repair job dispatched again after its agent died", again, again ? $"{second!.Server}, epoch {first.Epoch} -> {second.Epoch}" : "no new claim");
        var resumed = await WaitAsync("the second job to resume", () => Task.FromResult(RepairLogs(stack, vdisk).Any(l => l.Contains("resumed at cursor", StringComparison.Ordinal))), options.Timeout, ct);
        report.Check("the second job resumed where the first stopped (respread cursor)", resumed,
            RepairLogs(stack, vdisk).FirstOrDefault(l => l.Contains("resumed at cursor", StringComparison.Ordinal))?.Trim() ?? "no resume line");
    }

    private static IEnumerable<string> RepairLogs(DrillStack stack, string vdisk) =>
        new[] { 1, 2 }.Select(stack.NodeLogs).Where(Directory.Exists)
            .SelectMany(d => Directory.EnumerateFiles(d, $"*repair*{vdisk}*.log")).SelectMany(File.ReadLines);

    private sealed record TlogServers(string ClusterId, IReadOnlyList<(int Node, string Address)> Servers);

    /// <summary>Three tlog servers (two on node 1, one on node 2), so k = 2 acknowledgements survive one crash.</summary>
    private async Task<TlogServers> StartTlogServersAsync(DrillStack stack, DrillSetup setup, CancellationToken ct)
    {
        var servers = new[] { 1, 1, 2 }.Select(n => (Node: n, Address: $"127.0.0.1:{FreePort.Next()}")).ToList();
        var tlog = new TlogServers($"{stack.Id}-tlog", servers);
        await setup.ZdctlAsync(["tlog", "create", tlog.ClusterId, .. servers.Select(s => s.Address)]);
        foreach (var (n, address) in servers) await setup.ZdctlAsync("tlogserver", "start", address, "--node", stack.Node(n));
        var up = await WaitAsync("the tlog servers to listen", async () => (await Task.WhenAll(servers.Select(s => AcceptsAsync(s.Address)))).All(a => a), TimeSpan.FromSeconds(60), ct);
        report.Check("three tlog servers started by the agents", up, string.Join(", ", servers.Select(s => $"{s.Address} on {stack.Node(s.Node)}")));
        return tlog;
    }

    /// <summary>Seed "Tlog server failure": SIGKILL one of vd2's tlog servers under a write load; the scheduler restarts it.</summary>
    private async Task CrashTlogServerAsync(DrillStack stack, TlogServers tlog, string vd2Uri, CancellationToken ct)
    {
        var (n, address) = tlog.Servers[0];
        var pidFile = Path.Combine(stack.NodeState(n), $"tlogserver-{address}.pid");
        var pid = int.Parse((await File.ReadAllTextAsync(pidFile, ct)).Trim());
        // Beyond the 64 MiB image, so its checksum stays the proof of the earlier checks.
        var fio = ExternalProcess.RunAsync("fio",
        [
            "--name=tlog", "--ioengine=nbd", $"--uri={vd2Uri}", "--rw=randwrite", "--bs=4k", "--iodepth=16", "--offset=64m", "--size=64m",
            "--time_based", "--runtime=15", "--fsync=64", "--verify=crc32c", "--verify_backlog=512", "--verify_fatal=1", "--verify_state_save=0",
        ], TimeSpan.FromMinutes(3));
        await Task.Delay(TimeSpan.FromSeconds(4), ct);
        System.Diagnostics.Process.GetProcessById(pid).Kill();
        report.Progress($"SIGKILLed tlog server {address} (pid {pid}) on {stack.Node(n)} under fio writes with flushes");
        var log = Path.Combine(stack.NodeLogs(n), $"tlogserver-{address}.log");
        var exited = StderrEventWriter.Format(new ProcessExitedLine(ProcessRole.TlogServer, address, 137));
        var reported = await WaitAsync("process-exited in the tlog server's log stream",
            () => Task.FromResult(EventLines.In(log).Any(e => EventLines.IsExit(e, ProcessRole.TlogServer, address, 137))), TimeSpan.FromSeconds(10), ct);
        report.Check("the agent reported the tlog server's crash", reported, exited);
        var back = await WaitAsync("the tlog server restarted", async () =>
            File.Exists(pidFile) && int.TryParse((await File.ReadAllTextAsync(pidFile, ct)).Trim(), out var now) && now != pid && await AcceptsAsync(address), TimeSpan.FromSeconds(90), ct);
        report.Check("tlog server restarted by the scheduler through the agent", back, address);
        var result = await fio;
        report.Check("no I/O error and every block verified while a tlog server died (fio with flushes)", result.ExitCode == 0,
            result.ExitCode == 0 ? FioSummary(result.StdOut) : $"fio exited {result.ExitCode}: {Tail(result.StdErr + result.StdOut)}");
    }

    private static async Task<bool> AcceptsAsync(string address)
    {
        var endpoint = System.Net.IPEndPoint.Parse(address);
        using var client = new System.Net.Sockets.TcpClient();
        try
        {
            await client.ConnectAsync(endpoint.Address, endpoint.Port).WaitAsync(TimeSpan.FromSeconds(2));
            return true;
        }
        catch (Exception ex) when (ex is System.Net.Sockets.SocketException or TimeoutException)
        {
            return false;
        }
    }

    /// <summary>The engine saga's history: no transition recorded twice (exactly-once state changes, whatever crashed).</summary>
    private async Task CheckTransitionsOnceAsync(HttpClient admin, string address, CancellationToken ct)
    {
        var history = new List<string>();
        await WaitAsync("the engine saga's history", async () =>
        {
            using var engines = System.Text.Json.JsonDocument.Parse(await admin.GetStringAsync("engines", ct));
            var engine = engines.RootElement.EnumerateArray().FirstOrDefault(e => e.GetProperty("address").GetString() == address);
            if (engine.ValueKind == System.Text.Json.JsonValueKind.Undefined) return false;
            history = engine.GetProperty("history").EnumerateArray()
                .Select(h => $"{h.GetProperty("from").GetString()}->{h.GetProperty("to").GetString()}@{h.GetProperty("incident").GetString()}").ToList();
            return true;
        }, TimeSpan.FromSeconds(30), ct);
        var twice = history.GroupBy(h => h).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        report.Check("no state transition recorded twice", history.Count > 0 && twice.Count == 0,
            twice.Count > 0 ? $"twice: {string.Join(", ", twice)}" : string.Join(", ", history.Select(h => h[..h.IndexOf('@')])));
    }

    /// <summary>
    /// One incident = one trace: the trace of the scheduler's repair campaign must hold the spans of the
    /// collector that read the failure line, of ClusterState's sagas, of the scheduler and of the agent's repair job
    /// (all exported over OTLP/HTTP to the drill's receiver, as they would be to Jaeger).
    /// </summary>
    private async Task CheckIncidentTraceAsync(OtlpHttpReceiver traces, CancellationToken ct)
    {
        string[] services = ["logcollector", "clusterstate", "repairscheduler", "nbdhost-agent"];
        string? trace = null;
        bool Complete()
        {
            var spans = traces.Spans;
            trace = spans.FirstOrDefault(s => s is { Service: "repairscheduler", Name: "repair campaign" })?.TraceId;
            return trace is not null && services.All(service => spans.Any(s => s.TraceId == trace && s.Service == service))
                && spans.Any(s => s.TraceId == trace && s.Name == "repair job");
        }
        var whole = await WaitAsync("the incident's spans to arrive", () => Task.FromResult(Complete()), TimeSpan.FromSeconds(20), ct);
        var byService = traces.Spans.Where(s => s.TraceId == trace).GroupBy(s => s.Service).Select(g => $"{g.Key} {g.Count()}");
        report.Check("one incident = one trace (collector, ClusterState, scheduler, agent's repair job)", whole,
            trace is null ? "no repair campaign span received" : $"trace {trace}: {string.Join(", ", byService)} span(s)");
    }

    /// <summary>Seed "NBD server failure": SIGKILL the VM's server; it must come back and the VM hook must run again.</summary>
    private async Task CrashServerAsync(DrillStack stack, string vd2Uri, string image, CancellationToken ct)
    {
        var pidFile = Path.Combine(stack.NodeState(1), $"nbdserver-{stack.NbdServer}.pid");
        var hookCalls = () => File.Exists(stack.VmHookCalls) ? File.ReadLines(stack.VmHookCalls).Count(l => l.Contains(stack.NbdServer, StringComparison.Ordinal)) : 0;
        var callsBefore = hookCalls();
        var pid = int.Parse(await File.ReadAllTextAsync(pidFile, ct));
        System.Diagnostics.Process.GetProcessById(pid).Kill();
        report.Progress($"SIGKILLed the VM's NBD server {stack.NbdServer} (pid {pid})");
        var log = Path.Combine(stack.NodeLogs(1), $"nbdserver-{stack.NbdServer}.log");
        var exited = StderrEventWriter.Format(new ProcessExitedLine(ProcessRole.NbdServer, stack.NbdServer, 137));
        var reported = await WaitAsync("process-exited in the server's log stream",
            () => Task.FromResult(EventLines.In(log).Any(e => EventLines.IsExit(e, ProcessRole.NbdServer, stack.NbdServer, 137))), TimeSpan.FromSeconds(10), ct);
        report.Check("the agent reported the crash", reported, exited);
        var back = await WaitAsync("the server restarted and the VM hook called", async () =>
            hookCalls() > callsBefore && File.Exists(pidFile) && int.Parse(await File.ReadAllTextAsync(pidFile, ct)) != pid
            && (await ExternalProcess.RunAsync("nbdinfo", [vd2Uri], TimeSpan.FromSeconds(10))).ExitCode == 0, TimeSpan.FromSeconds(90), ct);
        await CheckReadBackAsync("checksum of vd2 after the server crash", vd2Uri, image, ImageMiB << 20); // meanwhile a second hook call would land
        report.Check("NBD server restarted by the scheduler through the agent, VM hook called once", back && hookCalls() == callsBefore + 1,
            $"VM hook calls for {stack.NbdServer}: {callsBefore} -> {hookCalls()}");
    }

    /// <summary>Reads the export back with nbdcopy and checks that its first <paramref name="length"/> bytes have the md5 of <paramref name="image"/>.</summary>
    private async Task CheckReadBackAsync(string check, string uri, string image, long length)
    {
        var back = image + ".readback";
        var read = await ExternalProcess.RunAsync("nbdcopy", [uri, back], TimeSpan.FromMinutes(5));
        var actual = read.ExitCode == 0 ? FileHashes.Md5Prefix(back, length) : null;
        report.Check(check, actual == FileHashes.Md5(image), actual is null ? read.StdErr : $"md5 {actual}");
        if (File.Exists(back)) File.Delete(back);
    }

    /// <summary>Identity markers on every engine and in etcd, both cluster configs, both clusters healthy (shared with tools/FaultCheck).</summary>
    public static async Task RegisterClustersAsync(DrillStack stack, EtcdClient etcd)
    {
        foreach (var engine in stack.Engines.Primary.Concat(stack.Engines.Slave))
        {
            var marker = $"{stack.Id}-{engine.Port}";
            await using var redis = await EngineConnection.ConnectAsync(engine.Address);
            await redis.GetDatabase().StringSetAsync(EngineIdentity.RedisKey, marker);
            await etcd.PutAsync(EtcdKeys.EngineIdentity(engine.Address), marker);
        }
        await etcd.PutJsonAsync(EtcdKeys.StorageClusterConfig(stack.PrimaryCluster), new StorageClusterConfig(stack.Engines.Primary.Select(e => new StorageServerConfig(e.Address)).ToList()));
        await etcd.PutJsonAsync(EtcdKeys.StorageClusterConfig(stack.SlaveCluster), new StorageClusterConfig(stack.Engines.Slave.Select(e => new StorageServerConfig(e.Address)).ToList()));
        foreach (var c in new[] { stack.PrimaryCluster, stack.SlaveCluster })
            await etcd.PutAsync(EtcdKeys.ClusterStatus(c), ClusterStatus.Healthy.ToWire());
    }

    /// <summary>The log of the repair-only server an agent ran for the vdisk, if it printed its completion.</summary>
    private static string? RepairJobCompleted(DrillStack stack, string vdisk, string address)
    {
        var kinds = new[] { RepairKind.Tmp, RepairKind.Final };
        foreach (var n in new[] { 1, 2 })
        {
            if (!Directory.Exists(stack.NodeLogs(n))) continue;
            foreach (var log in Directory.EnumerateFiles(stack.NodeLogs(n), $"*repair*{vdisk}*.log"))
                if (EventLines.In(log).Any(e => e is RepairCompleteLine done && kinds.Contains(done.Kind) && done.Address == address && done.VdiskId == vdisk))
                    return $"{Path.GetFileName(log)} on {stack.Node(n)}";
        }
        return null;
    }

    /// <summary>Failure lines in the log stream of the VM's NBD server (other processes report once each too).</summary>
    private static int FailureLines(DrillStack stack, string address)
    {
        return Enumerable.Range(1, 2).Where(n => Directory.Exists(stack.NodeLogs(n)))
            .SelectMany(n => Directory.EnumerateFiles(stack.NodeLogs(n), $"*-{stack.NbdServer}.log"))
            .Sum(f => EventLines.In(f).Count(e => e is StorageEngineFailureLine failed && failed.Address == address));
    }

    private static async Task<int> MirrorMismatchesAsync(DrillStack stack, IEnumerable<string> vdisks)
    {
        var mismatches = 0;
        for (var shard = 0; shard < stack.Engines.Primary.Count; shard++)
        {
            // Whole vdisks in one HGETALL each (tens of MiB): the default 5 s timed out on a loaded 2-core machine.
            await using var primary = await EngineConnection.ConnectAsync($"{stack.Engines.Primary[shard].Address},syncTimeout=60000,asyncTimeout=60000");
            await using var slave = await EngineConnection.ConnectAsync($"{stack.Engines.Slave[shard].Address},syncTimeout=60000,asyncTimeout=60000");
            foreach (var vdisk in vdisks)
            {
                var p = (await primary.GetDatabase().HashGetAllAsync($"nondedup:{vdisk}")).ToDictionary(e => (string)e.Name!, e => (byte[])e.Value!);
                var s = (await slave.GetDatabase().HashGetAllAsync($"nondedup:{vdisk}")).ToDictionary(e => (string)e.Name!, e => (byte[])e.Value!);
                mismatches += p.Keys.Union(s.Keys).Count(k => !p.TryGetValue(k, out var a) || !s.TryGetValue(k, out var b) || !a.AsSpan().SequenceEqual(b));
            }
        }
        return mismatches;
    }

    private async Task<bool> WaitAsync(string what, Func<Task<bool>> condition, TimeSpan within, CancellationToken ct)
    {
        // An exception of a service not up yet, or restarting (chaos), is "not yet".
        if (await Eventually.WithinAsync(condition, within, TimeSpan.FromMilliseconds(250),
                ex => ex is HttpRequestException or TaskCanceledException or InvalidOperationException or Grpc.Core.RpcException, ct))
            return true;
        report.Progress($"gave up waiting: {what}");
        return false;
    }

    private static string FioSummary(string output) =>
        output.Split('\n').FirstOrDefault(l => l.TrimStart().StartsWith("write:", StringComparison.Ordinal))?.Trim() ?? "ok";

    private static string Tail(string text) => text.Length > 400 ? text[^400..] : text;
}
