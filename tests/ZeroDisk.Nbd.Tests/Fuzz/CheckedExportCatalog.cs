using System.Collections.Concurrent;
using ZeroDisk.Nbd.Memory;

namespace ZeroDisk.Nbd.Tests.Fuzz;

/// <summary>
/// Exports for the fuzzer that check the protocol layer's promises on every call: nothing out of range,
/// nothing larger than the maximum block size, no write to a read-only export. Every write is also applied to a
/// shadow copy, so the store can be compared with what the protocol layer actually asked for.
/// </summary>
internal sealed class CheckedExportCatalog : INbdExportCatalog
{
    public const string Writable = "rw";
    public const string ReadOnlyName = "ro";
    public const int WritableSize = 256 * 1024;
    public const int ReadOnlySize = 64 * 1024;

    public CheckedExportCatalog()
    {
        ReadOnlyPattern = new byte[ReadOnlySize];
        for (var i = 0; i < ReadOnlyPattern.Length; i++) ReadOnlyPattern[i] = (byte)(i * 7 + 3);
        var readOnlyStore = new MemoryExport(ReadOnlySize);
        readOnlyStore.WriteAsync(0, ReadOnlyPattern, false, CancellationToken.None).AsTask().GetAwaiter().GetResult();
        WritableExport = new CheckedExport(new MemoryExport(WritableSize), readOnly: false, this);
        ReadOnlyExport = new CheckedExport(readOnlyStore, readOnly: true, this);
    }

    public byte[] ReadOnlyPattern { get; }
    public CheckedExport WritableExport { get; }
    public CheckedExport ReadOnlyExport { get; }
    public ConcurrentQueue<string> Violations { get; } = new();

    public IReadOnlyList<NbdExportInfo> List() => [new(Writable, "fuzz target"), new(ReadOnlyName)];

    public ValueTask<INbdExport?> OpenAsync(string name, CancellationToken ct) => ValueTask.FromResult<INbdExport?>(name switch
    {
        Writable => WritableExport,
        ReadOnlyName => ReadOnlyExport,
        _ => null,
    });
}

/// <summary>A store the protocol layer sees as read-only when asked, so it can be filled first.</summary>
internal sealed class CheckedExport(MemoryExport store, bool readOnly, CheckedExportCatalog owner) : INbdExport
{
    private readonly object _gate = new();
    private readonly byte[] _shadow = ShadowOf(store);

    private long _reads;
    private long _writes;

    public MemoryExport Store => store;
    public long Reads => Interlocked.Read(ref _reads);
    public long Writes => Interlocked.Read(ref _writes);
    public long Size => store.Size;
    public int BlockSize => store.BlockSize;
    public bool ReadOnly => readOnly;
    public bool CanMultiConn => true;

    private static byte[] ShadowOf(MemoryExport store)
    {
        var shadow = new byte[store.Size];
        store.ReadAsync(0, shadow, CancellationToken.None).AsTask().GetAwaiter().GetResult();
        return shadow;
    }

    public byte[] ShadowCopy()
    {
        lock (_gate) return (byte[])_shadow.Clone();
    }

    public ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken ct)
    {
        Check("read", offset, buffer.Length, write: false);
        Interlocked.Increment(ref _reads);
        return store.ReadAsync(offset, buffer, ct);
    }

    public ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> data, bool fua, CancellationToken ct)
    {
        Check("write", offset, data.Length, write: true);
        Interlocked.Increment(ref _writes);
        lock (_gate)
        {
            data.Span.CopyTo(_shadow.AsSpan((int)offset));
            return store.WriteAsync(offset, data, fua, ct);
        }
    }

    public ValueTask FlushAsync(CancellationToken ct) => default;

    public ValueTask TrimAsync(long offset, long length, bool fua, CancellationToken ct)
    {
        Check("trim", offset, length, write: true);
        lock (_gate)
        {
            _shadow.AsSpan((int)offset, (int)length).Clear();
            return store.TrimAsync(offset, length, fua, ct);
        }
    }

    public ValueTask WriteZeroesAsync(long offset, long length, bool noHole, bool fua, CancellationToken ct)
    {
        Check("zero", offset, length, write: true);
        lock (_gate)
        {
            _shadow.AsSpan((int)offset, (int)length).Clear();
            return store.WriteZeroesAsync(offset, length, noHole, fua, ct);
        }
    }

    private void Check(string what, long offset, long length, bool write)
    {
        if (offset < 0 || length < 0 || offset + length > Size) owner.Violations.Enqueue($"{what} {offset}+{length} out of range");
        if (length > 32 << 20 && what is "read" or "write") owner.Violations.Enqueue($"{what} of {length} bytes");
        if (write && ReadOnly) owner.Violations.Enqueue($"{what} on a read-only export");
        if (owner.Violations.Count > 0) throw new InvalidOperationException(owner.Violations.First());
    }
}
