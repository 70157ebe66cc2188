namespace ZeroDisk.Contracts;

/// <summary>The scheduler's analysis (or an operator) decided whether an outage is temporary or permanent.</summary>
public record OutageClassified
{
    public required string Address { get; init; }
    public required OutageKind Kind { get; init; }
    public required string Incident { get; init; }
    public required string Reason { get; init; }
    /// <summary>An operator forced a permanent outage although the twin engine is down (data-loss warning given).</summary>
    public bool Forced { get; init; }
}
