using ZeroDisk.Nbd;
using ZeroDisk.Storage;
using ZeroDisk.Storage.Resp;

namespace ZeroDisk.NbdHost.Serving;

/// <summary>
/// One NBD connection's (or one NBD_OPT_INFO's) hold on a served vdisk, and the one place where storage meets the
/// protocol: every call goes straight to the shared <see cref="VdiskStorage"/>, and a <see cref="StorageIoException"/>
/// becomes the <see cref="NbdIoException"/> with its NBD error code (nbdkit's protocol.c maps errno the same way).
/// Disposing it — which the NBD server does only once every request of the connection has finished — tells
/// <see cref="VdiskConnections"/>, so the catalog knows when no request of a stopped vdisk can still reach an engine.
/// </summary>
internal sealed class VdiskConnection(VdiskStorage vdisk, VdiskConnections connections) : INbdExport, INbdEndingExport, INbdBatchingExport, IAsyncDisposable
{
    private int _disposed;

    public long Size => vdisk.Size;
    public int BlockSize => vdisk.BlockSize;
    public bool ReadOnly => vdisk.ReadOnly;
    public bool CanMultiConn => vdisk.CanMultiConn;
    public CancellationToken Ended => vdisk.Ended;

    public ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken ct)
    {
        try { return Mapped(vdisk.ReadAsync(offset, buffer, ct)); }
        catch (StorageIoException ex) { throw ToNbd(ex); }
    }

    public ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> data, bool fua, CancellationToken ct)
    {
        try { return Mapped(vdisk.WriteAsync(offset, data, fua, ct)); }
        catch (StorageIoException ex) { throw ToNbd(ex); }
    }

    public ValueTask FlushAsync(CancellationToken ct)
    {
        try { return Mapped(vdisk.FlushAsync(ct)); }
        catch (StorageIoException ex) { throw ToNbd(ex); }
    }

    public ValueTask TrimAsync(long offset, long length, bool fua, CancellationToken ct)
    {
        try { return Mapped(vdisk.TrimAsync(offset, length, fua, ct)); }
        catch (StorageIoException ex) { throw ToNbd(ex); }
    }

    public ValueTask WriteZeroesAsync(long offset, long length, bool noHole, bool fua, CancellationToken ct)
    {
        try { return Mapped(vdisk.WriteZeroesAsync(offset, length, noHole, fua, ct)); }
        catch (StorageIoException ex) { throw ToNbd(ex); }
    }

    // The NBD server's send batches are the engine connections' (Storage/Resp/SendBatch): one per thread, shared by both sides.
    public void OpenBatch() => SendBatch.Open();

    public void CloseBatch() => SendBatch.Close();

    public bool TryDefer(Action send) => SendBatch.TryJoin(send);

    /// <summary>A call that completed at once passes through untouched (no allocation); one still running is awaited to map its error.</summary>
    private static ValueTask Mapped(ValueTask pending) => pending.IsCompletedSuccessfully ? pending : MapAsync(pending);

    private static async ValueTask MapAsync(ValueTask pending)
    {
        try { await pending; }
        catch (StorageIoException ex) { throw ToNbd(ex); }
    }

    /// <summary>Storage's reasons as NBD error codes; anything else the protocol layer answers with EIO itself.</summary>
    internal static NbdIoException ToNbd(StorageIoException ex) => new(ex.Error switch
    {
        StorageError.OutOfRange => NbdError.EINVAL,
        StorageError.ReadOnly => NbdError.EPERM,
        _ => NbdError.EIO,
    }, ex.Message, ex);

    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0) connections.Closed();
        return ValueTask.CompletedTask;
    }
}

/// <summary>How many connections hold one <see cref="VdiskStorage"/>, and a wait until none does.</summary>
internal sealed class VdiskConnections
{
    private int _open;

    public int Open => Volatile.Read(ref _open);

    public VdiskConnection Connect(VdiskStorage vdisk)
    {
        Interlocked.Increment(ref _open);
        return new VdiskConnection(vdisk, this);
    }

    public void Closed() => Interlocked.Decrement(ref _open);

    /// <summary>True once no connection holds the vdisk; false if some still do after <paramref name="timeout"/>.</summary>
    public async Task<bool> WaitUntilNoneAsync(TimeSpan timeout)
    {
        var deadline = System.Diagnostics.Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
        while (Open > 0)
        {
            if (System.Diagnostics.Stopwatch.GetTimestamp() > deadline) return false;
            await Task.Delay(20);
        }
        return true;
    }
}
