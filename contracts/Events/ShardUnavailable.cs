namespace ZeroDisk.Contracts;

/// <summary>
/// Alert: an engine failed while its twin was already down, so its shard has no serving side (I/O to it answers
/// EIO). Nothing is repaired from a side that is not complete until the shard's last serving side is back.
/// </summary>
public record ShardUnavailable
{
    public required string ClusterId { get; init; }
    public required string Address { get; init; }
    public required string Incident { get; init; }
    public required string Reason { get; init; }
    public required DateTimeOffset At { get; init; }
}
