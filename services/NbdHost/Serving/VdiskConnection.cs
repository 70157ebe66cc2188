using ZeroDisk.Nbd;
using ZeroDisk.NbdHost.Storage;

namespace ZeroDisk.NbdHost.Serving;

/// <summary>
/// One NBD connection's (or one NBD_OPT_INFO's) hold on a served vdisk: every call goes straight to the shared
/// <see cref="VdiskStorage"/>; disposing it — which the NBD server does only once every request of the connection has
/// finished — tells <see cref="VdiskConnections"/>, so the catalog knows when no request of a stopped vdisk can
/// still reach an engine.
/// </summary>
internal sealed class VdiskConnection(VdiskStorage vdisk, VdiskConnections connections) : INbdExport, INbdEndingExport, IAsyncDisposable
{
    private int _disposed;

    public long Size => vdisk.Size;
    public int BlockSize => vdisk.BlockSize;
    public bool ReadOnly => vdisk.ReadOnly;
    public bool CanMultiConn => vdisk.CanMultiConn;
    public CancellationToken Ended => vdisk.Ended;

    public ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken ct) => vdisk.ReadAsync(offset, buffer, ct);

    public ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> data, bool fua, CancellationToken ct) => vdisk.WriteAsync(offset, data, fua, ct);

    public ValueTask FlushAsync(CancellationToken ct) => vdisk.FlushAsync(ct);

    public ValueTask TrimAsync(long offset, long length, bool fua, CancellationToken ct) => vdisk.TrimAsync(offset, length, fua, ct);

    public ValueTask WriteZeroesAsync(long offset, long length, bool noHole, bool fua, CancellationToken ct) =>
        vdisk.WriteZeroesAsync(offset, length, noHole, fua, ct);

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
