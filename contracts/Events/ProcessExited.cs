namespace ZeroDisk.Contracts;

/// <summary>A supervised NBD or tlog server exited (stderr <c>process-exited</c> written by the node agent).</summary>
public record ProcessExited
{
    public required ProcessRole Role { get; init; }
    public required string Id { get; init; }
    public required int ExitCode { get; init; }
    /// <summary>The exited process's pid and kernel start time (from the agent's line): together they name one exit.</summary>
    public int? Pid { get; init; }
    public long? StartTime { get; init; }
    public required EventSource Source { get; init; }
}
