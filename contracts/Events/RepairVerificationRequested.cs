namespace ZeroDisk.Contracts;

/// <summary>
/// ClusterState counted a completion for every affected vdisk of an engine's repair: the scheduler is to verify it
/// (scan the surviving engines for dirty sets or unmoved blocks: the dirty set is the truth) and answer with <see cref="RepairVerified"/>. Republished by the reconciler
/// while no verdict has arrived, so it may come more than once.
/// </summary>
public record RepairVerificationRequested
{
    public required string ClusterId { get; init; }
    public required string Address { get; init; }
    public required string Incident { get; init; }
    public required RepairKind Kind { get; init; }
    /// <summary>The vdisks the outage affected (those using the engine's cluster as primary or slave).</summary>
    public IReadOnlyList<string> Vdisks { get; init; } = [];
    public required DateTimeOffset At { get; init; }
    /// <summary>W3C traceparent of the transition into the repair state: the verification joins the incident's trace.</summary>
    public string? TraceParent { get; init; }
}
