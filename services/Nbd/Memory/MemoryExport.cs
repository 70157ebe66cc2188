using System.Buffers;

namespace ZeroDisk.Nbd.Memory;

/// <summary>
/// A sparse in-memory disk: 32 KiB pages rented from a pool on first write, returned on trim/zero of a whole
/// page, so a large export costs only what was written. Thread-safe: each page is read, written, allocated and
/// freed under one of a fixed set of striped locks, so a page is never handed back to the pool while another
/// request still copies into or out of it. Every call completes synchronously.
/// </summary>
public sealed class MemoryExport : INbdExport
{
    internal const int PageSize = 32 * 1024;
    private const int PagesPerDirectory = 1024; // one directory entry covers 32 MiB
    private const int LockStripes = 64;

    private readonly byte[]?[]?[] _directory;
    private readonly object[] _locks;
    private long _allocatedPages;

    public MemoryExport(long size, int blockSize = 4096, bool readOnly = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(blockSize);
        Size = size;
        BlockSize = blockSize;
        ReadOnly = readOnly;
        var pages = (size + PageSize - 1) / PageSize;
        _directory = new byte[]?[(pages + PagesPerDirectory - 1) / PagesPerDirectory][];
        _locks = new object[LockStripes];
        for (var i = 0; i < _locks.Length; i++) _locks[i] = new object();
    }

    public long Size { get; }
    public int BlockSize { get; }
    public bool ReadOnly { get; }
    public bool CanMultiConn => true; // one store behind every connection

    /// <summary>Bytes of pages currently held (for tests and memory accounting).</summary>
    public long AllocatedBytes => Interlocked.Read(ref _allocatedPages) * PageSize;

    public ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken ct)
    {
        CheckRange(offset, buffer.Length);
        var destination = buffer.Span;
        while (!destination.IsEmpty)
        {
            var (pageIndex, within, count) = Locate(offset, destination.Length);
            lock (LockFor(pageIndex))
            {
                var page = PageAt(pageIndex, create: false);
                if (page is null) destination[..count].Clear();
                else page.AsSpan(within, count).CopyTo(destination);
            }
            destination = destination[count..];
            offset += count;
        }
        return default;
    }

    public ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> data, bool fua, CancellationToken ct)
    {
        CheckWritable();
        CheckRange(offset, data.Length);
        var source = data.Span;
        while (!source.IsEmpty)
        {
            var (pageIndex, within, count) = Locate(offset, source.Length);
            lock (LockFor(pageIndex))
            {
                source[..count].CopyTo(PageAt(pageIndex, create: true).AsSpan(within, count));
            }
            source = source[count..];
            offset += count;
        }
        return default;
    }

    public ValueTask FlushAsync(CancellationToken ct) => default;

    public ValueTask TrimAsync(long offset, long length, bool fua, CancellationToken ct) =>
        WriteZeroesAsync(offset, length, noHole: false, fua, ct); // trimmed data reads back as zeroes here

    public ValueTask WriteZeroesAsync(long offset, long length, bool noHole, bool fua, CancellationToken ct)
    {
        CheckWritable();
        CheckRange(offset, length);
        while (length > 0)
        {
            var (pageIndex, within, count) = Locate(offset, (int)Math.Min(length, PageSize));
            lock (LockFor(pageIndex))
            {
                if (count == PageSize) FreePage(pageIndex); // an absent page reads as zeroes
                else PageAt(pageIndex, create: false)?.AsSpan(within, count).Clear();
            }
            length -= count;
            offset += count;
        }
        return default;
    }

    private static (long PageIndex, int Within, int Count) Locate(long offset, int remaining)
    {
        var pageIndex = offset / PageSize;
        var within = (int)(offset % PageSize);
        return (pageIndex, within, Math.Min(remaining, PageSize - within));
    }

    private object LockFor(long pageIndex) => _locks[pageIndex % LockStripes];

    /// <summary>Called under the page's lock.</summary>
    private byte[]? PageAt(long pageIndex, bool create)
    {
        var slot = (int)(pageIndex / PagesPerDirectory);
        var pages = Volatile.Read(ref _directory[slot]);
        if (pages is null)
        {
            if (!create) return null;
            Interlocked.CompareExchange(ref _directory[slot], new byte[]?[PagesPerDirectory], null);
            pages = _directory[slot]!;
        }
        var index = (int)(pageIndex % PagesPerDirectory);
        var page = pages[index];
        if (page is null && create)
        {
            page = ArrayPool<byte>.Shared.Rent(PageSize);
            Array.Clear(page, 0, PageSize); // pooled arrays hold old data
            pages[index] = page;
            Interlocked.Increment(ref _allocatedPages);
        }
        return page;
    }

    /// <summary>Called under the page's lock.</summary>
    private void FreePage(long pageIndex)
    {
        var pages = Volatile.Read(ref _directory[(int)(pageIndex / PagesPerDirectory)]);
        if (pages is null) return;
        var index = (int)(pageIndex % PagesPerDirectory);
        var page = pages[index];
        if (page is null) return;
        pages[index] = null;
        Interlocked.Decrement(ref _allocatedPages);
        ArrayPool<byte>.Shared.Return(page);
    }

    private void CheckRange(long offset, long length)
    {
        if (offset < 0 || length < 0 || offset > Size || length > Size - offset)
            throw new NbdIoException(NbdError.EINVAL, $"range {offset}+{length} outside export of {Size} bytes");
    }

    private void CheckWritable()
    {
        if (ReadOnly) throw new NbdIoException(NbdError.EPERM, "export is read-only");
    }
}
