using Microsoft.Extensions.Logging;
using ZeroDisk.Nbd;
using ZeroDisk.NbdHost.Configuration;
using ZeroDisk.NbdHost.Failover;
using ZeroDisk.NbdHost.Ownership;
using ZeroDisk.NbdHost.Storage;

namespace ZeroDisk.NbdHost.Serving;

/// <summary>
/// The exports of this server: one <see cref="VdiskStorage"/> per vdisk etcd lists for it, shared by every
/// connection. Asked on each handshake, so a vdisk added in etcd is exportable without a restart.
/// </summary>
public sealed class VdiskCatalog(StorageEngines engines, IWriteJournal journal, StorageOptions options, IStderrEvents events, VdiskOwnerClaims owners, ILoggerFactory loggers)
    : INbdExportCatalog, IAsyncDisposable
{
    private readonly ILogger _log = loggers.CreateLogger<VdiskCatalog>();
    private readonly SemaphoreSlim _applyGate = new(1, 1);
    private volatile Dictionary<string, VdiskStorage> _vdisks = new(StringComparer.Ordinal);

    public IReadOnlyList<NbdExportInfo> List() =>
        _vdisks.Values.Select(v => new NbdExportInfo(v.VdiskId, $"vdisk {v.VdiskId} ({v.Config.Static.Size} GiB, {v.BlockSize} B blocks)")).ToList();

    public ValueTask<INbdExport?> OpenAsync(string name, CancellationToken ct) =>
        ValueTask.FromResult<INbdExport?>(Find(name));

    public VdiskStorage? Find(string vdiskId) => _vdisks.GetValueOrDefault(vdiskId);

    /// <summary>Makes the exports exactly <paramref name="configs"/>: new vdisks open, changed ones reconfigure, gone ones stop.</summary>
    public async Task ApplyAsync(IReadOnlyDictionary<string, VdiskConfig> configs)
    {
        await _applyGate.WaitAsync();
        try
        {
            var current = _vdisks;
            var next = new Dictionary<string, VdiskStorage>(StringComparer.Ordinal);
            foreach (var (id, config) in configs)
            {
                if (current.TryGetValue(id, out var vdisk))
                {
                    if (!vdisk.Config.Equals(config)) await vdisk.ApplyAsync(config);
                }
                else
                {
                    if (await owners.TryOwnAsync(id, CancellationToken.None) is not { } epoch) continue;
                    vdisk = new VdiskStorage(config, epoch, engines, journal, options, events, loggers);
                    await vdisk.ApplyAsync(config);
                    if (vdisk.IsFenced)
                    {
                        // Raising the fence found a newer owner's epoch: that owner serves it, not this process.
                        await vdisk.CloseAsync();
                        await owners.ReleaseAsync(id);
                        continue;
                    }
                    vdisk.Fenced += OnFenced;
                    _log.LogInformation("exporting vdisk {Vdisk}: {Size} GiB, {BlockSize} B blocks, {Shards} shards", id, config.Static.Size, config.Static.BlockSize, config.ShardCount);
                }
                next[id] = vdisk;
            }
            _vdisks = next;
            foreach (var (id, gone) in current.Where(c => !next.ContainsKey(c.Key)))
            {
                _log.LogInformation("vdisk {Vdisk} is no longer listed for this server: no longer exported", id);
                await gone.CloseAsync();
                await owners.ReleaseAsync(id);
            }
        }
        finally
        {
            _applyGate.Release();
        }
    }

    /// <summary>A newer owner fenced the vdisk out: stop exporting it and let go of the owner key (it lapsed anyway).</summary>
    private void OnFenced(VdiskStorage fenced) => _ = DropFencedAsync(fenced);

    private async Task DropFencedAsync(VdiskStorage fenced)
    {
        await _applyGate.WaitAsync();
        try
        {
            if (!_vdisks.TryGetValue(fenced.VdiskId, out var current) || !ReferenceEquals(current, fenced)) return;
            _vdisks = new Dictionary<string, VdiskStorage>(_vdisks.Where(v => v.Key != fenced.VdiskId), StringComparer.Ordinal);
            _log.LogWarning("vdisk {Vdisk} is no longer exported: fenced out by a newer owner", fenced.VdiskId);
            await fenced.CloseAsync();
            await owners.ReleaseAsync(fenced.VdiskId);
        }
        catch (Exception ex)
        {
            _log.LogError(ex, "vdisk {Vdisk}: closing it after it was fenced out failed", fenced.VdiskId);
        }
        finally
        {
            _applyGate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var vdisk in _vdisks.Values) await vdisk.CloseAsync();
    }
}
