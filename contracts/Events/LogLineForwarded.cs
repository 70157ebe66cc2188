namespace ZeroDisk.Contracts;

/// <summary>An ordinary (non-event) log line relayed by a log collector configured to forward them.</summary>
public record LogLineForwarded
{
    public required string Line { get; init; }
    public required EventSource Source { get; init; }
}
