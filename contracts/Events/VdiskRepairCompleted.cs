namespace ZeroDisk.Contracts;

/// <summary>An NBD server finished repairing one vdisk for one engine (stderr <c>repair-*-outage-complete</c>).</summary>
public record VdiskRepairCompleted
{
    public required string Address { get; init; }
    public required string VdiskId { get; init; }
    public required RepairKind Kind { get; init; }
    /// <summary>The incident the repair belonged to; a completion for another incident is ignored.</summary>
    public string? Incident { get; init; }
    public required EventSource Source { get; init; }
}
