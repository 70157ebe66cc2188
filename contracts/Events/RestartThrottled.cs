namespace ZeroDisk.Contracts;

/// <summary>A process keeps crashing; its next restart is delayed instead of immediate.</summary>
public record RestartThrottled
{
    public required string Node { get; init; }
    public required ProcessRole Role { get; init; }
    public required string Id { get; init; }
    public required int CrashesInARow { get; init; }
    public required TimeSpan Delay { get; init; }
}
