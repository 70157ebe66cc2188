namespace ZeroDisk.NbdHost.Tlog;

/// <summary>
/// What the NBD write path needs from the tlog of one vdisk: log a block write, and wait until everything logged
/// is durable (FLUSH, FUA).
/// </summary>
public interface IBlockWriteJournal
{
    ValueTask AppendAsync(long blockIndex, ReadOnlyMemory<byte> block, CancellationToken ct = default);
    Task FlushAsync(CancellationToken ct = default);
}
