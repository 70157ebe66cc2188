namespace ZeroDisk.Contracts;

/// <summary>Run a repair-only NBD server for a vdisk that no NBD server serves.</summary>
public record RepairVdisk
{
    public required string Node { get; init; }
    public required string VdiskId { get; init; }
    public required string Address { get; init; }
    public required RepairKind Kind { get; init; }
    public required string Incident { get; init; }
}
