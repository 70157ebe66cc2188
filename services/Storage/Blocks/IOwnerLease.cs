namespace ZeroDisk.Storage;

/// <summary>
/// The lease under which this process owns a vdisk (one writer per vdisk), as the storage path sees it: held until a
/// local deadline ahead of etcd's expiry, so the vdisk stops being served here before anyone else can own it.
/// </summary>
public interface IOwnerLease
{
    /// <summary>Checked on every request: false from the deadline on, even before <see cref="Lost"/> has fired.</summary>
    bool IsHeld { get; }

    /// <summary>Why the lease is no longer held, or null while it is.</summary>
    string? LapseReason { get; }

    /// <summary>Cancelled at the deadline, or when etcd reports the lease gone.</summary>
    CancellationToken Lost { get; }
}
