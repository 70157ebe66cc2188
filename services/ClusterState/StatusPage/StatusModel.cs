namespace ZeroDisk.ClusterState.StatusPage;

/// <summary>What the status page shows, as one read-only JSON document (<c>GET /status/model</c>, and every server-sent event).</summary>
public sealed record StatusModel(DateTimeOffset GeneratedAt, IReadOnlyList<ClusterView> Clusters, IReadOnlyList<RepairView> Repairs, IReadOnlyList<IncidentView> Incidents);

/// <summary>A storage cluster and its engines in shard order; <paramref name="Status"/> is healthy or repairing.</summary>
public sealed record ClusterView(string Id, string Status, IReadOnlyList<EngineView> Engines);

/// <summary>One engine: its state as etcd has it (the wire name), and the incident it is in, if any.</summary>
public sealed record EngineView(string Address, int Shard, string State, string? Incident, string? TraceId, DateTimeOffset? Since, string? ShardUnavailable);

/// <summary>
/// A repair in progress: an engine in repair-tmp-outage / repair-final-outage, the vdisks its incident affects and
/// how many are repaired. The ETA is the mean time per completed vdisk times those left, so it exists only once one
/// vdisk completed (the data does not say more: block counts live in the repair jobs' logs and metrics).
/// </summary>
public sealed record RepairView(string Engine, string Cluster, string Incident, string Kind, string? TraceId, DateTimeOffset StartedAt, int Completed, int Affected,
    double Percent, double? EtaSeconds, IReadOnlyList<VdiskRepairView> Vdisks);

/// <summary>One vdisk's repair within an incident: Pending, Running or Completed (the vdisk repair saga's state).</summary>
public sealed record VdiskRepairView(string Vdisk, string State);

/// <summary>One incident of one engine, newest first: every transition recorded for it, with the trace that caused each.</summary>
public sealed record IncidentView(string Incident, string Engine, string Cluster, string? TraceId, bool Open, string State, IReadOnlyList<TimelineEntry> Timeline);

public sealed record TimelineEntry(DateTimeOffset At, string From, string To, string Reason, string? TraceId);
