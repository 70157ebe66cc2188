namespace ZeroDisk.Contracts;

/// <summary>
/// A node agent refused to start an NBD server now because one of its vdisks is being repaired (the owner key is
/// held with kind repair: one writer per vdisk); the start is queued and happens when the repair ends.
/// </summary>
public record NbdServerStartDeferred
{
    public required string Node { get; init; }
    public required string ServerId { get; init; }
    public required string VdiskId { get; init; }
    /// <summary>The repair owner holding the vdisk (its <c>server</c> field) and its epoch.</summary>
    public required string RepairOwner { get; init; }
    public required long RepairEpoch { get; init; }
    public DateTimeOffset DeferredAt { get; init; }
}
