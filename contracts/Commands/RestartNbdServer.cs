namespace ZeroDisk.Contracts;

/// <summary>Start, or restart, an NBD server on a node; the VM hook is called once it serves.</summary>
public record RestartNbdServer
{
    public required string Node { get; init; }
    public required string ServerId { get; init; }
}
