namespace ZeroDisk.Contracts;

/// <summary>Where a relayed line came from: node, process log stream, position, and when the collector read it.</summary>
public record EventSource
{
    public required string Node { get; init; }
    public required string Stream { get; init; }
    public long Offset { get; init; }
    public DateTimeOffset ObservedAt { get; init; }
    /// <summary>
    /// When the event happened, from the line's own <c>"time"</c> (the writing process's clock); null for a line
    /// without one. A backlog read late keeps its real time: staleness is judged by this, else by <see cref="ObservedAt"/>.
    /// </summary>
    public DateTimeOffset? OccurredAt { get; init; }
}
