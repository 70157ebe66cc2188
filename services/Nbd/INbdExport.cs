namespace ZeroDisk.Nbd;

/// <summary>
/// One export (a vdisk) as the protocol layer sees it: a fixed-size byte range with the NBD operations.
/// Implementations must allow concurrent calls (requests pipelined on one connection, and several
/// connections) and keep them consistent with each other. Errors are reported by throwing
/// <see cref="NbdIoException"/>, which becomes the reply's error code; anything else becomes EIO.
/// Buffers passed in are pooled and valid only until the returned task completes: never keep them. Calls may run
/// on a socket's completion thread: never block (no sync-over-async); complete synchronously when the answer is
/// at hand (that path costs no allocation), asynchronously when it has to wait. The token is cancelled only when
/// the server stops, not when a client goes away.
/// </summary>
public interface INbdExport
{
    long Size { get; }

    /// <summary>The preferred block size advertised to clients (the vdisk block size).</summary>
    int BlockSize { get; }

    bool ReadOnly { get; }

    /// <summary>True when writes seen by one connection are visible to every other once acknowledged.</summary>
    bool CanMultiConn { get; }

    ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken ct);

    ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> data, bool fua, CancellationToken ct);

    ValueTask FlushAsync(CancellationToken ct);

    ValueTask TrimAsync(long offset, long length, bool fua, CancellationToken ct);

    /// <param name="noHole">The client asked that the range be allocated, not punched.</param>
    ValueTask WriteZeroesAsync(long offset, long length, bool noHole, bool fua, CancellationToken ct);
}

/// <summary>
/// An export that can end while clients use it (a vdisk this server no longer owns): when <see cref="Ended"/> is
/// cancelled, the server closes every connection to it, so a client that reconnects by itself (qemu's
/// <c>reconnect-delay</c>) reaches whatever serves the export now instead of getting errors on for good.
/// </summary>
public interface INbdEndingExport
{
    CancellationToken Ended { get; }
}

/// <summary>
/// An export that gathers its sends in batches, one per thread (a loopback send costs more than a 4 KiB request's
/// own work): the server opens a batch around the requests it starts from one burst of input and closes it before
/// it waits for anything, and the export may hold what those requests send back until then. The export's own
/// completions may run inside a batch of its making; the server's replies completed there join it
/// (<see cref="TryDefer"/>), so a burst of completions is answered in one send. Opens and closes pair up on one thread.
/// </summary>
public interface INbdBatchingExport
{
    /// <summary>Opens a batch on this thread, or nests in the one open.</summary>
    void OpenBatch();

    /// <summary>Closes this thread's batch; the outermost close sends what was held back.</summary>
    void CloseBatch();

    /// <summary>Runs <paramref name="send"/> when the batch open on this thread closes; false when none is open (send now).</summary>
    bool TryDefer(Action send);
}

/// <summary>The exports a server offers; asked on every handshake, so exports can appear without a restart.</summary>
public interface INbdExportCatalog
{
    IReadOnlyList<NbdExportInfo> List();

    /// <summary>
    /// Opens an export for one connection, or null when there is no such export. If the export returned implements
    /// <see cref="IAsyncDisposable"/> or <see cref="IDisposable"/>, the server disposes it when that connection ends
    /// (or right after answering NBD_OPT_INFO).
    /// </summary>
    ValueTask<INbdExport?> OpenAsync(string name, CancellationToken ct);
}

public sealed record NbdExportInfo(string Name, string? Description = null);

/// <summary>An I/O error with the NBD error code to reply with (EIO, ENOSPC, EINVAL, EPERM, …).</summary>
public sealed class NbdIoException(NbdError error, string message, Exception? inner = null) : IOException(message, inner)
{
    public NbdError Error { get; } = error;
}

/// <summary>NBD reply error values (doc/proto.md "Error values").</summary>
public enum NbdError : uint
{
    None = 0,
    EPERM = 1,
    EIO = 5,
    ENOMEM = 12,
    EINVAL = 22,
    ENOSPC = 28,
    EOVERFLOW = 75,
    ENOTSUP = 95,
    ESHUTDOWN = 108,
}
