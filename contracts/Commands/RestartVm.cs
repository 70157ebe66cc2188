namespace ZeroDisk.Contracts;

/// <summary>Run the node's configured VM hook for the VM using the given NBD server.</summary>
public record RestartVm
{
    public required string Node { get; init; }
    public required string ServerId { get; init; }
}
