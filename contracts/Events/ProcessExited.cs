namespace ZeroDisk.Contracts;

/// <summary>A supervised NBD or tlog server exited (stderr <c>process-exited</c> written by the node agent).</summary>
public record ProcessExited
{
    public required ProcessRole Role { get; init; }
    public required string Id { get; init; }
    public required int ExitCode { get; init; }
    public required EventSource Source { get; init; }
}
