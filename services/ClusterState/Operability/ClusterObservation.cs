using ZeroDisk.Contracts;

namespace ZeroDisk.ClusterState.Operability;

/// <summary>
/// What <see cref="ClusterObserver"/> saw at <see cref="At"/>: every engine of the clusters in scope, every shard that
/// some vdisk mirrors, every incident in progress with its repair's progress and what blocks it, the bus's error
/// queues. One snapshot feeds the Prometheus gauges (<see cref="ClusterMetrics"/>), the health verdict
/// (<see cref="HealthAssessment"/>) and the admin API's <c>/status/health</c> and <c>/status/repairs</c>.
/// </summary>
public sealed record ClusterObservation(
    DateTimeOffset At,
    IReadOnlyList<EngineObservation> Engines,
    IReadOnlyList<ShardObservation> Shards,
    IReadOnlyList<RepairObservation> Repairs,
    IReadOnlyList<ErrorQueueObservation>? ErrorQueues,
    int Agents)
{
    public static ClusterObservation Empty(DateTimeOffset at) => new(at, [], [], [], null, 0);
}

/// <param name="DirtyBlocks">Blocks written while the engine was down and not yet copied onto it (its dirty sets on the
/// other engines); null when no engine holding its dirty sets answered.</param>
public sealed record EngineObservation(
    string Address, string ClusterId, int Shard, EngineState State, DateTimeOffset? Since, string? Incident,
    long? DirtyBlocks, long? DirtyBytes, string? ShardUnavailable, bool ClassificationHeld);

/// <summary>One shard of a mirrored pair of clusters: the engines at the same index in both.</summary>
public sealed record ShardObservation(string PrimaryCluster, string SlaveCluster, int Shard, IReadOnlyList<string> Engines, int Serving, int Sides)
{
    public bool Unavailable => Sides > 0 && Serving == 0;
    public bool Degraded => Serving > 0 && Serving < Sides;
}

/// <summary>
/// One engine incident in progress (offline or repairing). Progress in blocks and bytes exists for a temporary outage
/// (the dirty sets shrink as the repair copies them); <see cref="TotalBlocks"/> is the most seen in this incident.
/// </summary>
public sealed record RepairObservation(
    string Engine, string ClusterId, EngineState State, OutageKind? Outage, string? Incident, string? TraceId, DateTimeOffset? StartedAt,
    double AgeSeconds, int CompletedVdisks, int AffectedVdisks,
    long? RemainingBlocks, long? TotalBlocks, long? RemainingBytes, long? TotalBytes,
    double? BlocksPerSecond, double? BytesPerSecond, double? EtaSeconds, double Progress,
    IReadOnlyList<RepairBlock> Blocked);

/// <summary>Why a repair does not move: a code (for alerts and scripts), the sentence an operator reads, and what to do first.</summary>
public sealed record RepairBlock(string Code, string Reason, string Action);

public sealed record ErrorQueueObservation(string Queue, long Messages);
