using ZeroDisk.Nbd.Memory;

namespace ZeroDisk.Nbd.Tests.Support;

/// <summary>
/// A slow backend on demand: reads of the first block wait until the test opens the gate, the way a request to a
/// failing storage engine waits; everything else is served by a <see cref="MemoryExport"/> at once.
/// </summary>
public sealed class GatedExportCatalog(MemoryExport store) : INbdExportCatalog
{
    private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SemaphoreSlim _entered = new(0);

    public const string Name = "gated";

    public MemoryExport Store => store;

    public void Open() => _gate.TrySetResult();

    /// <summary>Waits until <paramref name="count"/> reads are held at the gate.</summary>
    public async Task WaitForHeldAsync(int count)
    {
        for (var i = 0; i < count; i++) await _entered.WaitAsync(TimeSpan.FromSeconds(30));
    }

    public IReadOnlyList<NbdExportInfo> List() => [new(Name)];

    public ValueTask<INbdExport?> OpenAsync(string name, CancellationToken ct) =>
        ValueTask.FromResult<INbdExport?>(name == Name ? new GatedExport(this) : null);

    private sealed class GatedExport(GatedExportCatalog owner) : INbdExport
    {
        public long Size => owner.Store.Size;
        public int BlockSize => owner.Store.BlockSize;
        public bool ReadOnly => false;
        public bool CanMultiConn => true;

        public async ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken ct)
        {
            if (offset < BlockSize)
            {
                owner._entered.Release();
                await owner._gate.Task.WaitAsync(ct);
            }
            await owner.Store.ReadAsync(offset, buffer, ct);
        }

        public ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> data, bool fua, CancellationToken ct) => owner.Store.WriteAsync(offset, data, fua, ct);
        public ValueTask FlushAsync(CancellationToken ct) => owner.Store.FlushAsync(ct);
        public ValueTask TrimAsync(long offset, long length, bool fua, CancellationToken ct) => owner.Store.TrimAsync(offset, length, fua, ct);
        public ValueTask WriteZeroesAsync(long offset, long length, bool noHole, bool fua, CancellationToken ct) =>
            owner.Store.WriteZeroesAsync(offset, length, noHole, fua, ct);
    }
}
