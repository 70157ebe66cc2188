namespace ZeroDisk.Contracts;

/// <summary>The scheduler scanned the surviving engines after every vdisk reported completion.</summary>
public record RepairVerified
{
    public required string Address { get; init; }
    public required string Incident { get; init; }
    public required bool Clean { get; init; }
    /// <summary>Vdisks still holding dirty blocks (tmp) or blocks not yet at their new home (final).</summary>
    public IReadOnlyList<string> LeftoverVdisks { get; init; } = [];
    /// <summary>What the scan found, for the history and the operator (e.g. an engine it could not reach).</summary>
    public string? Reason { get; init; }
}
