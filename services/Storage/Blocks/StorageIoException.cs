namespace ZeroDisk.Storage;

/// <summary>
/// A block operation that could not be done, and why. Storage raises only this; whoever exports the storage (the NBD
/// adapter in NbdHost) turns the reason into its protocol's error code, in one place.
/// </summary>
public sealed class StorageIoException(StorageError error, string message, Exception? inner = null) : IOException(message, inner)
{
    public StorageError Error { get; } = error;
}

public enum StorageError
{
    /// <summary>The data cannot be read or written now: both sides of a shard failed, or the vdisk is fenced out.</summary>
    Unavailable,

    /// <summary>The byte range lies (partly) outside the vdisk.</summary>
    OutOfRange,

    /// <summary>A write to a read-only vdisk.</summary>
    ReadOnly,
}
