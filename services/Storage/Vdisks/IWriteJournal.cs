namespace ZeroDisk.Storage;

/// <summary>
/// The seam through which every stored block also goes to the vdisk's transaction log.
/// The storage calls <see cref="AppendAsync"/> once per block it stores, under that block's lock (so appends of
/// one block come in the order the block was written), and <see cref="FlushAsync"/> on NBD FLUSH and FUA.
/// </summary>
public interface IWriteJournal
{
    /// <param name="ownerEpoch">
    /// The epoch of the ownership claim the write is made under (one writer per vdisk): records are keyed by it, so each claim —
    /// not each process — starts its own sequence.
    /// </param>
    /// <param name="block">The whole new block content; empty when the block became all zeroes (deleted).</param>
    ValueTask AppendAsync(string vdiskId, long ownerEpoch, long blockIndex, ReadOnlyMemory<byte> block);

    /// <summary>
    /// Returns once every earlier append of <paramref name="vdiskId"/> is durable. One vdisk's flush never waits for
    /// another's log: a tlog cluster that lost its quorum fails the flushes of its own vdisk only.
    /// </summary>
    ValueTask FlushAsync(string vdiskId);
}

/// <summary>The journal of a vdisk without a tlog cluster: nothing to record.</summary>
public sealed class NoWriteJournal : IWriteJournal
{
    public static readonly NoWriteJournal Instance = new();

    public ValueTask AppendAsync(string vdiskId, long ownerEpoch, long blockIndex, ReadOnlyMemory<byte> block) => ValueTask.CompletedTask;

    public ValueTask FlushAsync(string vdiskId) => ValueTask.CompletedTask;
}
