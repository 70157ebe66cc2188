using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using dotnet_etcd;
using MassTransit;
using StackExchange.Redis;
using ZeroDisk.Contracts;
using ZeroDisk.Drill;
using ZeroDisk.LocalStack;
using ZeroDisk.ServiceDefaults.Engines;

namespace ZeroDisk.FaultCheck;

/// <summary>
/// Runs a <see cref="FaultSchedule"/> against the drill's stack: each fault starts at its offset on the run's clock
/// and heals after its length (the killed process restarted, the stopped one continued, the pause over). Faults run
/// side by side. What each did, and when, goes to the log and to <see cref="Done"/>.
/// </summary>
public sealed class FaultInjector(DrillStack stack, DrillOptions options, HttpClient admin, EtcdClient etcd, BusEcho echo, TlogSetup? tlog, Stopwatch clock, Action<string> log)
{
    /// <summary>How long a loss for good waits for the twin to be online before it is skipped.</summary>
    private static readonly TimeSpan TwinWait = TimeSpan.FromMinutes(2);

    public ConcurrentDictionary<int, string> Done { get; } = new();

    /// <summary>When each fault's injection returned, healed (on the run's clock): later than scheduled when a restart is slow.</summary>
    public ConcurrentDictionary<int, TimeSpan> HealedAt { get; } = new();

    /// <summary>Engines lost for good by the schedule (declared permanent or wiped): they end <c>rip</c>.</summary>
    public ConcurrentDictionary<string, bool> Lost { get; } = new();

    public Task RunAsync(FaultSchedule schedule, CancellationToken ct) =>
        Task.WhenAll(schedule.Faults.Select(f => Task.Run(async () =>
        {
            var wait = f.At - clock.Elapsed;
            if (wait > TimeSpan.Zero) await Task.Delay(wait, ct);
            var started = clock.Elapsed;
            string what;
            try
            {
                what = await InjectAsync(f, ct);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                what = $"FAILED to inject: {ex.GetType().Name}: {ex.Message}";
            }
            HealedAt[f.Index] = clock.Elapsed;
            Done[f.Index] = $"{started.TotalSeconds:0.0}s-{HealedAt[f.Index].TotalSeconds:0.0}s {what}";
            log($"fault #{f.Index} {f.Kind}: {what}");
        }, ct)));

    private RedisServerProcess Engine(Side side, int shard) => (side == Side.Primary ? stack.Engines.Primary : stack.Engines.Slave)[shard];

    private async Task<string> InjectAsync(Fault f, CancellationToken ct)
    {
        var engine = Engine(f.Side, f.Shard);
        switch (f.Kind)
        {
            case FaultKind.EngineKill:
                await engine.KillAsync();
                await Task.Delay(f.For, ct);
                await engine.RestartAsync();
                return $"SIGKILL {engine.Address}, restarted from its own files";
            case FaultKind.EngineStop:
                var pid = engine.Pid ?? throw new InvalidOperationException($"{engine.Address} not running");
                await Signal("STOP", pid);
                try { await Task.Delay(f.For, ct); }
                finally { await Signal("CONT", pid); }
                return $"SIGSTOP/SIGCONT {engine.Address} (pid {pid})";
            case FaultKind.ClientPause:
                await RedisAsync(engine, "CLIENT", "PAUSE", ((long)f.For.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture));
                await Task.Delay(f.For, ct);
                return $"CLIENT PAUSE on {engine.Address}";
            case FaultKind.MaxMemory:
                await RedisAsync(engine, "CONFIG", "SET", "maxmemory", "1");
                try { await Task.Delay(f.For, ct); }
                finally { await RedisAsync(engine, "CONFIG", "SET", "maxmemory", "0"); }
                return $"maxmemory 1 on {engine.Address} (OOM error replies), then back to 0";
            case FaultKind.EngineRestartOld:
                // The copy holds what the engine had when the copy started; on a busy machine copying takes seconds,
                // so the loss is counted from there (a loss beyond the services' recent-write window is not one
                // they promise to cover, and the log must say how old the files really were).
                var copyStarted = Stopwatch.StartNew();
                var snapshot = engine.SnapshotDirectory();
                var copying = copyStarted.Elapsed;
                if (f.For > copyStarted.Elapsed) await Task.Delay(f.For - copyStarted.Elapsed, ct);
                var age = copyStarted.Elapsed;
                await engine.RestartFromSnapshotAsync(snapshot);
                return $"{engine.Address} SIGKILLed and restarted from its files of {age.TotalSeconds:0.0}s earlier (copying them took {copying.TotalSeconds:0.0}s)";
            case FaultKind.EngineWipe:
                if (await TwinNotOnlineAsync(f, ct) is { } notWiped) return notWiped;
                await engine.KillAsync();
                Lost[engine.Address] = true;
                await Task.Delay(f.For, ct);
                await engine.RestartEmptyAsync();
                return $"SIGKILL {engine.Address}, restarted empty (a replaced disk)";
            case FaultKind.BothTwinsKill:
                var twin = Engine(f.Side == Side.Primary ? Side.Slave : Side.Primary, f.Shard);
                await Task.WhenAll(engine.KillAsync(), twin.KillAsync());
                await Task.Delay(f.For, ct);
                await Task.WhenAll(engine.RestartAsync(), twin.RestartAsync());
                return $"SIGKILL both twins {engine.Address} and {twin.Address}, restarted from their files";
            case FaultKind.DeclarePermanent:
                if (await TwinNotOnlineAsync(f, ct) is { } notKilled) return notKilled;
                await engine.KillAsync();
                Lost[engine.Address] = true;
                await Task.Delay(f.For, ct);
                return await DeclarePermanentAsync(engine.Address, ct);
            case FaultKind.ServeKill:
                var pidFile = Path.Combine(stack.NodeState(1), $"nbdserver-{stack.NbdServer}.pid");
                var server = int.Parse((await File.ReadAllTextAsync(pidFile, ct)).Trim());
                Process.GetProcessById(server).Kill();
                return $"SIGKILL serve {stack.NbdServer} (pid {server}); the scheduler restarts it through the agent";
            case FaultKind.CollectorKill:
                return await ServiceAsync("node1-collector", f, ct);
            case FaultKind.ClusterStateKill:
                return await ServiceAsync("clusterstate", f, ct);
            case FaultKind.SchedulerKill:
                return await ServiceAsync("repairscheduler", f, ct);
            case FaultKind.RabbitMqKill or FaultKind.EtcdKill:
                var name = f.Kind == FaultKind.RabbitMqKill ? "rabbitmq" : "etcd";
                var (pids, restart) = await ChaosSchedule.CrashInfrastructureAsync(name, f.For, ct);
                return $"SIGKILL {name} (pid {string.Join('+', pids)}); infra.sh up {(restart.ExitCode == 0 ? "brought it back" : "FAILED: " + restart.StdErr)}";
            case FaultKind.DebugSleep:
                // DEBUG SLEEP blocks the engine's one thread: every client waits, then gets its reply late.
                await RedisAsync(engine, "DEBUG", "SLEEP", f.For.TotalSeconds.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture));
                return $"DEBUG SLEEP {f.For.TotalSeconds:0.0} on {engine.Address} (slow replies)";
            case FaultKind.BothTwinsStop:
                var twins = new[] { engine, Engine(f.Side == Side.Primary ? Side.Slave : Side.Primary, f.Shard) };
                var stopped = twins.Select(e => e.Pid ?? throw new InvalidOperationException($"{e.Address} not running")).ToArray();
                foreach (var p in stopped) await Signal("STOP", p);
                try { await Task.Delay(f.For, ct); }
                finally { foreach (var p in stopped) await Signal("CONT", p); }
                return $"SIGSTOP/SIGCONT both twins {twins[0].Address} and {twins[1].Address}";
            case FaultKind.BothTwinsSlow:
                var pair = new[] { engine, Engine(f.Side == Side.Primary ? Side.Slave : Side.Primary, f.Shard) };
                var ms = ((long)f.For.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
                await Task.WhenAll(pair.Select(e => RedisAsync(e, "CLIENT", "PAUSE", ms)));
                await Task.Delay(f.For, ct);
                return $"CLIENT PAUSE on both twins {pair[0].Address} and {pair[1].Address}";
            case FaultKind.AgentKill:
                var agent = stack.Services.Last(s => s.Name == $"node{f.Node}-agent");
                await stack.KillAgentAsync(f.Node);
                await Task.Delay(f.For, ct);
                stack.StartAgent(f.Node, options);
                return $"SIGKILL node{f.Node}'s agent (pid {agent.Pid}; its children live on), restarted on the same directories";
            case FaultKind.TlogKill:
                if (tlog is null) return "no tlog servers in this run";
                var (node, address) = tlog.Servers[f.Shard % tlog.Servers.Count];
                var tlogPid = int.Parse((await File.ReadAllTextAsync(Path.Combine(stack.NodeState(node), $"tlogserver-{address}.pid"), ct)).Trim(), System.Globalization.CultureInfo.InvariantCulture);
                Process.GetProcessById(tlogPid).Kill();
                return $"SIGKILL tlog server {address} (pid {tlogPid}) on node{node}; the scheduler restarts it through the agent";
            case FaultKind.BusDuplicate:
                return await echo.RedeliverLatestAsync(f.For, ct);
            case FaultKind.OwnerLeaseLapse:
                return await RevokeOwnerLeaseAsync($"{stack.Id}-vd{f.Shard}", ct);
            default:
                throw new ArgumentOutOfRangeException(nameof(f), f.Kind, null);
        }
    }

    /// <summary>
    /// An engine is lost for good only once its twin is complete, as an operator replacing a disk waits for the twin's
    /// repair: online in etcd, and named by no dirty set on the engine about to be lost. The schedule keeps the twin
    /// alone for a margin after any earlier fault, but on a loaded machine a repair can outlast it (seed 1034: the
    /// slave's repair had not finished when the primary was killed for good), and etcd can call a twin online whose
    /// failure report has not been handled yet (seed 2055: the primary had restarted from older files, its report was
    /// delayed by ClusterState's restarts, and the slave holding what it lost was wiped). Null when the twin is
    /// complete; else why the fault is skipped.
    /// </summary>
    private async Task<string?> TwinNotOnlineAsync(Fault f, CancellationToken ct)
    {
        var (twinSide, twinCluster) = f.Side == Side.Primary ? (Side.Slave, stack.SlaveCluster) : (Side.Primary, stack.PrimaryCluster);
        var twin = Engine(twinSide, f.Shard);
        var lost = Engine(f.Side, f.Shard);
        EngineState? state = null;
        var missed = new List<string>();
        var waited = Stopwatch.StartNew();
        var complete = await Eventually.WithinAsync(async () =>
                (state = await EngineWatch.StateAsync(etcd, twinCluster, twin.Address, ct)) == EngineState.Online
                && (missed = await DirtySetsNamingAsync(lost, twin.Address)).Count == 0,
            TwinWait, TimeSpan.FromSeconds(1), ct: ct);
        if (complete)
        {
            if (waited.Elapsed > TimeSpan.FromSeconds(2)) log($"fault #{f.Index} {f.Kind}: waited {waited.Elapsed.TotalSeconds:0} s for its twin {twin.Address} to be complete");
            return null;
        }
        var why = state == EngineState.Online ? $"online but missing blocks ({string.Join(", ", missed)} on {lost.Address})" : $"still {state?.ToWire() ?? "unknown"}";
        return $"not injected: the twin {twin.Address} is {why} after {TwinWait.TotalMinutes:0} min, and losing {lost.Address} now would lose the shard's only complete copy";
    }

    /// <summary>The dirty sets on <paramref name="engine"/> that record blocks <paramref name="address"/> missed; one that cannot be read counts as one.</summary>
    private async Task<List<string>> DirtySetsNamingAsync(RedisServerProcess engine, string address)
    {
        if (!engine.IsRunning) return ["(not running: its dirty sets cannot be read)"];
        try
        {
            return await DirtySets.OnAsync(engine, $"dirty:{stack.Id}-*:{address}");
        }
        catch (RedisException ex)
        {
            return [$"(its dirty sets cannot be read: {ex.Message})"]; // the next poll asks again
        }
    }

    /// <summary>
    /// A served vdisk's owner lease goes away under its server, as an expiry after lost keep-alives would, without the
    /// etcd outage around it: the server fences the vdisk out in the middle of the workload's writes (a write in flight
    /// may reach one side only) and claims it again as a fresh owner, whose takeover must leave both sides the same.
    /// </summary>
    private async Task<string> RevokeOwnerLeaseAsync(string vdisk, CancellationToken ct)
    {
        var owner = (await etcd.GetAsync(EtcdKeys.VdiskOwner(vdisk), cancellationToken: ct)).Kvs.FirstOrDefault();
        if (owner is null || owner.Lease == 0) return $"not injected: {vdisk} has no owner key under a lease now";
        await etcd.LeaseRevokeAsync(new Etcdserverpb.LeaseRevokeRequest { ID = owner.Lease }, cancellationToken: ct);
        return $"revoked {vdisk}'s owner lease {owner.Lease} (its server fences it out mid-write and claims it again)";
    }

    private async Task<string> ServiceAsync(string name, Fault f, CancellationToken ct)
    {
        var (killed, started) = await stack.CrashAndRestartAsync(name, f.For, ct);
        return $"SIGKILL {name} (pid {killed}), restarted as pid {started}";
    }

    /// <summary>
    /// The operator's override, as the admin API takes it; the saga must exist (the failure reported) first. The
    /// operator keeps trying until it does: with RabbitMQ down (seed 1022: killed, and 90 s to come back on a loaded
    /// machine) the failure report reaches ClusterState minutes late, and a declaration given up after a minute left an
    /// engine killed for good as a temporary outage whose repair can never run.
    /// </summary>
    private async Task<string> DeclarePermanentAsync(string address, CancellationToken ct)
    {
        var last = "";
        var declared = await Eventually.WithinAsync(async () =>
        {
            try
            {
                using var response = await admin.PostAsJsonAsync($"engines/{address}/outage", new { kind = "permanent", force = false, @operator = "faultcheck" }, ct);
                last = $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}";
                return response.IsSuccessStatusCode;
            }
            catch (HttpRequestException ex)
            {
                last = ex.Message;
                return false;
            }
        }, TimeSpan.FromMinutes(5), TimeSpan.FromSeconds(1), ct: ct);
        return declared
            ? $"SIGKILL {address} for good; outage declared permanent: {last}"
            : $"SIGKILL {address} for good; declaring it permanent was refused: {last}";
    }

    private static async Task RedisAsync(RedisServerProcess engine, string command, params object[] args)
    {
        await using var redis = await EngineConnection.ConnectAsync($"{engine.Address},connectTimeout=5000,syncTimeout=5000,allowAdmin=true");
        await redis.GetDatabase().ExecuteAsync(command, args);
    }

    private static async Task Signal(string signal, int pid) =>
        (await ExternalProcess.RunAsync("kill", [$"-{signal}", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(10))).EnsureSuccess($"kill -{signal}");
}
