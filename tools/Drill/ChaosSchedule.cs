using System.Diagnostics;
using ZeroDisk.Contracts;
using ZeroDisk.LocalStack;

namespace ZeroDisk.Drill;

/// <summary>
/// The chaos part of the drill: while the incident runs (engine down, fio writing), SIGKILL once each control-plane
/// component — node 1's collector (the one that must report the failure), ClusterState, the scheduler, RabbitMQ and
/// etcd — and start it again, as an init system would. The drill's own checks (fio verification, checksums, states,
/// healthy clusters) then say whether the incident still ended well; <see cref="Crashes"/> is the table of what was
/// killed when. RabbitMQ and etcd are the infrastructure of <c>scripts/infra.sh</c> (its <c>ZD_RUN_DIR</c>): run this
/// through <c>scripts/chaos.sh</c>, which gives the drill a private copy, never beside the tests.
/// </summary>
public sealed class ChaosSchedule(DrillStack stack, EngineWatch watch, DrillReport report)
{
    private static readonly TimeSpan Down = TimeSpan.FromSeconds(2);
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    public List<(string Component, TimeSpan At, string What)> Crashes { get; } = [];

    public async Task RunAsync(CancellationToken ct)
    {
        await Task.Delay(TimeSpan.FromMilliseconds(300), ct);
        await ServiceAsync("node1-collector", "while the failure line is being collected", ct);
        await UntilAsync(() => watch.Seen.Contains(EngineState.Offline), ct);
        await ServiceAsync("clusterstate", "right after the engine went offline", ct);
        await ServiceAsync("repairscheduler", "while the outage is being classified", ct);
        await UntilAsync(() => watch.Seen.Any(s => s is EngineState.RepairTmpOutage or EngineState.RepairFinalOutage), ct);
        await InfrastructureAsync("rabbitmq", "during the repair", ct);
        await InfrastructureAsync("etcd", "during the repair", ct);
    }

    private async Task ServiceAsync(string name, string when, CancellationToken ct)
    {
        var at = _clock.Elapsed;
        var (killed, started) = await stack.CrashAndRestartAsync(name, Down, ct);
        Record(name, at, $"SIGKILL pid {killed} {when}; restarted after {Down.TotalSeconds:0} s as pid {started}");
    }

    private async Task InfrastructureAsync(string name, string when, CancellationToken ct)
    {
        var at = _clock.Elapsed;
        var up = Stopwatch.StartNew();
        var (pids, restart) = await CrashInfrastructureAsync(name, Down, ct);
        Record(name, at, restart.ExitCode == 0
            ? $"SIGKILL pid {string.Join('+', pids)} {when}; infra.sh up brought it back in {up.Elapsed.TotalSeconds:0} s"
            : $"SIGKILL pid {string.Join('+', pids)} {when}; infra.sh up FAILED: {restart.StdErr}");
        report.Check($"{name} restarted after its SIGKILL", restart.ExitCode == 0 && pids.Count > 0, pids.Count == 0 ? "no running process found" : "infra.sh up");
    }

    /// <summary>
    /// SIGKILL of <c>rabbitmq</c> or <c>etcd</c> of scripts/infra.sh (its <c>ZD_RUN_DIR</c>), and after
    /// <paramref name="down"/> <c>infra.sh up</c> again. Shared with the fault-schedule checker (tools/FaultCheck).
    /// </summary>
    public static async Task<(IReadOnlyList<int> Pids, ExternalProcess.Result Restart)> CrashInfrastructureAsync(string name, TimeSpan down, CancellationToken ct)
    {
        var runDir = Environment.GetEnvironmentVariable("ZD_RUN_DIR") ?? Path.Combine(RepoPaths.Root, "run");
        // RabbitMQ's start script and its Erlang VM are separate processes: both go, or the script looks alive.
        var pidFiles = name == "rabbitmq"
            ? new[] { Path.Combine(runDir, "rabbitmq", "rabbitmq.pid"), Path.Combine(runDir, "pids", "rabbitmq.pid") }
            : [Path.Combine(runDir, "pids", $"{name}.pid")];
        var pids = pidFiles.Where(File.Exists).Select(f => int.Parse(File.ReadAllText(f).Trim())).Where(ProcessState.IsAlive).ToList();
        foreach (var pid in pids)
        {
            try { Process.GetProcessById(pid).Kill(); }
            catch (Exception ex) when (ex is ArgumentException or InvalidOperationException) { /* gone already */ }
        }
        await Task.Delay(down, ct);
        var restart = await ExternalProcess.RunAsync("bash", [Path.Combine(RepoPaths.Root, "scripts", "infra.sh"), "up"], TimeSpan.FromMinutes(3));
        return (pids, restart);
    }

    private void Record(string component, TimeSpan at, string what)
    {
        Crashes.Add((component, at, what));
        report.Progress($"chaos: {component}: {what}");
    }

    private static async Task UntilAsync(Func<bool> condition, CancellationToken ct)
    {
        while (!condition()) await Task.Delay(100, ct);
    }
}
