using ZeroDisk.Contracts;

namespace ZeroDisk.Zdctl.Status;

/// <summary>What <c>zdctl status</c> shows (and prints as JSON with --json).</summary>
public sealed record StatusReport(
    IReadOnlyList<ClusterRow> Clusters,
    IReadOnlyList<EngineRow> Engines,
    IReadOnlyList<VdiskRow> Vdisks,
    IReadOnlyList<RepairRow> Repairs);

/// <param name="Status">The <c>&lt;clusterID&gt;:cluster:status</c> value (derived from the engines when none was written).</param>
public sealed record ClusterRow(string Id, string Status, int Engines);

/// <param name="Side">primary, slave or primary+slave: how the vdisks use the engine's cluster ("unused" when none does).</param>
/// <param name="Since">When the engine entered its state, as its saga recorded it (null for an engine that never failed).</param>
public sealed record EngineRow(string Address, string Cluster, int Shard, string Side, EngineState State, DateTimeOffset? Since, string? Incident);

public sealed record VdiskRow(string Id, string PrimaryCluster, string SlaveCluster, long? SizeGiB, int? BlockSize, VdiskOwner? Owner);

/// <summary>One engine incident in progress: its state, its trace, and how many affected vdisks are done.</summary>
public sealed record RepairRow(
    string Engine, string Cluster, EngineState State, OutageKind? Outage, string? Incident, string? TraceId, DateTimeOffset? StartedAt,
    int CompletedVdisks, int AffectedVdisks, IReadOnlyList<VdiskRepairRow> Vdisks)
{
    public int Percent => AffectedVdisks == 0 ? 100 : CompletedVdisks * 100 / AffectedVdisks;
}

/// <param name="Phase">The vdisk-repair saga's state: Pending, Running or Completed.</param>
/// <param name="Job">The repair job's heartbeat key (<c>zerodisk/repairs/&lt;vdisk&gt;</c>) for a vdisk nobody serves, while it runs.</param>
public sealed record VdiskRepairRow(string VdiskId, string Phase, RepairJobStatus? Job);
