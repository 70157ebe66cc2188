namespace ZeroDisk.Nbd.Protocol;

/// <summary>
/// An export opened for a connection is released when the connection ends (or right after NBD_OPT_INFO) if it
/// implements <see cref="IAsyncDisposable"/> or <see cref="IDisposable"/>; shared exports simply don't.
/// </summary>
internal static class ExportLifetime
{
    public static async ValueTask ReleaseAsync(INbdExport export)
    {
        if (export is IAsyncDisposable asyncDisposable) await asyncDisposable.DisposeAsync().ConfigureAwait(false);
        else if (export is IDisposable disposable) disposable.Dispose();
    }
}
