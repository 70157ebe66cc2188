namespace ZeroDisk.Contracts;

/// <summary>Operator override: classify an engine's outage now (permanent needs <see cref="Force"/> while the twin is down).</summary>
public record DeclareOutage
{
    public required string Address { get; init; }
    public required OutageKind Kind { get; init; }
    public bool Force { get; init; }
    public string Operator { get; init; } = "operator";
}
