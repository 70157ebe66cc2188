namespace ZeroDisk.Contracts;

public record RestartTlogServer
{
    public required string Node { get; init; }
    public required string ServerId { get; init; }
}
