using ZeroDisk.Contracts;

namespace ZeroDisk.ClusterState.VdiskRepairs;

public enum VdiskRepairPhase
{
    Pending,
    Running,
    Completed,
    /// <summary>Ended without a repair: its incident was superseded, or the engine came back with nothing to repair.</summary>
    Cancelled,
}

/// <summary>
/// Internal to ClusterState: the engine saga tells the vdisk-repair saga where one vdisk's repair for one incident
/// stands (pending at the Offline transition, running once the engine is being repaired, completed when counted, cancelled
/// when the incident ends without repairing it).
/// </summary>
public sealed record VdiskRepairPhaseChanged
{
    public required string Address { get; init; }
    public required string VdiskId { get; init; }
    public required string Incident { get; init; }
    public string? IncidentTraceId { get; init; }
    public required VdiskRepairPhase Phase { get; init; }
    public RepairKind? Kind { get; init; }
    public required DateTimeOffset At { get; init; }
    /// <summary>Running again after a verification found the vdisk not repaired (the only way back from Completed).</summary>
    public bool Again { get; init; }
    /// <summary>Why, when the engine saga says more than "engine &lt;address&gt;" (a cancellation's cause).</summary>
    public string? Reason { get; init; }
}
