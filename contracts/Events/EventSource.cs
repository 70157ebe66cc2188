namespace ZeroDisk.Contracts;

/// <summary>Where a relayed line came from: node, process log stream, position, and when the collector read it.</summary>
public record EventSource
{
    public required string Node { get; init; }
    public required string Stream { get; init; }
    public long Offset { get; init; }
    public DateTimeOffset ObservedAt { get; init; }
}
