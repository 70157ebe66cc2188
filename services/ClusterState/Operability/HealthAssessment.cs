using ZeroDisk.Contracts;

namespace ZeroDisk.ClusterState.Operability;

/// <summary>One named problem, as <c>ceph health detail</c> lists them: its severity, a summary, the items, and what to do first.</summary>
public sealed record HealthFinding(string Check, string Severity, string Summary, IReadOnlyList<string> Detail, string Action);

/// <summary>The overall verdict (the worst finding's severity, HEALTH_OK without any) and the findings, worst first.</summary>
public sealed record HealthVerdict(string Status, DateTimeOffset ObservedAt, IReadOnlyList<HealthFinding> Checks);

/// <summary>
/// Turns an observation into the named checks of <c>zdctl health</c> and <c>/status/health</c>. The names are stable
/// (scripts and alerts match on them); each finding carries the first thing an on-call engineer should do.
/// </summary>
public static class HealthAssessment
{
    public const string Ok = "HEALTH_OK";
    public const string Warn = "HEALTH_WARN";
    public const string Err = "HEALTH_ERR";

    public const string ObservationFailed = "OBSERVATION_FAILED";
    public const string ShardUnavailable = "SHARD_UNAVAILABLE";
    public const string EngineOffline = "ENGINE_OFFLINE";
    public const string ShardDegraded = "SHARD_DEGRADED";
    public const string RepairBlocked = "REPAIR_BLOCKED";
    public const string RepairInProgress = "REPAIR_IN_PROGRESS";
    public const string DirtyBlocks = "DIRTY_BLOCKS";
    public const string ErrorQueue = "ERROR_QUEUE";

    public static HealthVerdict Assess(ClusterObservation? observation, string? observationError, DateTimeOffset now)
    {
        var findings = new List<HealthFinding>();
        if (observationError is not null || observation is null)
        {
            findings.Add(new HealthFinding(ObservationFailed, Err, "ClusterState cannot read the cluster state",
                [observationError ?? "no observation yet (ClusterState is starting)"],
                "Check etcd (ETCD_ENDPOINTS) and ClusterState's /health/ready; the verdict below may be stale"));
        }
        if (observation is not null) findings.AddRange(Findings(observation));
        var ordered = findings.OrderBy(f => f.Severity == Err ? 0 : 1).ToList();
        var status = ordered.Count == 0 ? Ok : ordered.Any(f => f.Severity == Err) ? Err : Warn;
        return new HealthVerdict(status, observation?.At ?? now, ordered);
    }

    private static IEnumerable<HealthFinding> Findings(ClusterObservation o)
    {
        var unavailable = o.Shards.Where(s => s.Unavailable).ToList();
        var flagged = o.Engines.Where(e => e.ShardUnavailable is not null).ToList();
        if (unavailable.Count > 0 || flagged.Count > 0)
            yield return new HealthFinding(ShardUnavailable, Err, $"{Math.Max(unavailable.Count, flagged.Count)} shard(s) have no serving side: their blocks cannot be read",
                [.. unavailable.Select(s => $"shard {s.Shard} of {s.PrimaryCluster}/{s.SlaveCluster}: {string.Join(", ", s.Engines.Select(a => $"{a} {StateOf(o, a)}"))}"),
                 .. flagged.Select(e => $"{e.Address}: {e.ShardUnavailable}")],
                "Bring back either engine of the shard (restart its redis-server); do not declare the last copy permanent");

        var offline = o.Engines.Where(e => e.State == EngineState.Offline).ToList();
        if (offline.Count > 0)
            yield return new HealthFinding(EngineOffline, Warn, $"{offline.Count} engine(s) offline",
                offline.Select(e => $"{e.Address} (cluster {e.ClusterId}, shard {e.Shard}) offline{Since(o, e.Since)}{(e.Incident is null ? "" : $", incident {e.Incident}")}").ToList(),
                "Check the engine's host and redis-server; the scheduler classifies the outage (temporary if it answers with its data within the grace period, else permanent after the deadline), or `zdctl outage declare`");

        var degraded = o.Shards.Where(s => s.Degraded).ToList();
        if (degraded.Count > 0)
            yield return new HealthFinding(ShardDegraded, Warn, $"{degraded.Count} shard(s) served by one side only",
                degraded.Select(s => $"shard {s.Shard} of {s.PrimaryCluster}/{s.SlaveCluster}: {string.Join(", ", s.Engines.Select(a => $"{a} {StateOf(o, a)}"))}").ToList(),
                "Follow the repair (`zdctl status --watch`); a second failure in the shard now loses data, so keep its other engine up");

        var blocked = o.Repairs.Where(r => r.Blocked.Count > 0).ToList();
        if (blocked.Count > 0)
            yield return new HealthFinding(RepairBlocked, Err, $"{blocked.Count} repair(s) cannot progress",
                blocked.SelectMany(r => r.Blocked.Select(b => $"{r.Engine} [{b.Code}]: {b.Reason} -> {b.Action}")).ToList(),
                blocked[0].Blocked[0].Action);

        var repairing = o.Repairs.Where(r => r.State is EngineState.RepairTmpOutage or EngineState.RepairFinalOutage).ToList();
        if (repairing.Count > 0)
            yield return new HealthFinding(RepairInProgress, Warn, $"{repairing.Count} engine(s) being repaired",
                repairing.Select(Describe).ToList(),
                "Nothing, unless REPAIR_BLOCKED is listed: the engine goes online (temporary) or rip (permanent) when done");

        var dirty = o.Engines.Where(e => e.DirtyBlocks is > 0).ToList();
        if (dirty.Count > 0)
            yield return new HealthFinding(DirtyBlocks, Warn, $"{dirty.Sum(e => e.DirtyBlocks!.Value)} block(s) written while their engine was down are not on it yet",
                dirty.Select(e => $"{e.Address} ({e.State.ToWire()}): {e.DirtyBlocks} block(s), {Bytes(e.DirtyBytes ?? 0)}").ToList(),
                "Nothing while the engine is being repaired; if it is online and the count stays, run a verification (the scheduler's RepairVerifier) or check the NBD servers' logs");

        var errors = o.ErrorQueues?.Where(q => q.Messages > 0).ToList() ?? [];
        if (errors.Count > 0)
            yield return new HealthFinding(ErrorQueue, Warn, $"{errors.Sum(q => q.Messages)} message(s) in the bus's error queues",
                errors.Select(q => $"{q.Queue}: {q.Messages}").ToList(),
                "Read them in RabbitMQ's management UI (Queues → the _error queue → Get messages: the fault headers say why), fix the cause, then move them back with a shovel");
    }

    public static string Describe(RepairObservation r)
    {
        var kind = r.State == EngineState.RepairTmpOutage ? "temporary" : "permanent";
        var vdisks = $"{r.CompletedVdisks}/{r.AffectedVdisks} vdisks";
        var blocks = r.RemainingBlocks is { } left && r.TotalBlocks is { } total
            ? $", {total - left}/{total} blocks ({Bytes(r.TotalBytes - r.RemainingBytes ?? 0)} of {Bytes(r.TotalBytes ?? 0)})"
              + (r.BlocksPerSecond is { } rate ? $", {rate:0.#} blocks/s ({Bytes((long)(r.BytesPerSecond ?? 0))}/s)" : "")
              + (r.EtaSeconds is { } eta ? $", ETA {Duration(eta)}" : ", ETA unknown")
            : "";
        return $"{r.Engine}: {kind} outage repair {r.Progress:P0} ({vdisks}{blocks}), running {Duration(r.AgeSeconds)}";
    }

    public static string Bytes(long bytes) => bytes switch
    {
        >= 1L << 30 => $"{bytes / (double)(1L << 30):0.#} GiB",
        >= 1L << 20 => $"{bytes / (double)(1L << 20):0.#} MiB",
        >= 1L << 10 => $"{bytes / 1024.0:0.#} KiB",
        _ => $"{bytes} B",
    };

    public static string Duration(double seconds) => seconds switch
    {
        >= 3600 => $"{(int)(seconds / 3600)}h{(int)(seconds % 3600 / 60):00}m",
        >= 60 => $"{(int)(seconds / 60)}m{(int)(seconds % 60):00}s",
        _ => $"{seconds:0}s",
    };

    private static string StateOf(ClusterObservation o, string address) =>
        o.Engines.FirstOrDefault(e => e.Address == address)?.State.ToWire() ?? "unknown";

    private static string Since(ClusterObservation o, DateTimeOffset? since) =>
        since is { } s ? $" for {Duration(Math.Max(0, (o.At - s).TotalSeconds))}" : "";
}
