using Microsoft.Extensions.Logging;
using ZeroDisk.Nbd;
using ZeroDisk.NbdHost.Configuration;
using ZeroDisk.Storage.Failover;
using ZeroDisk.Storage.Ownership;
using ZeroDisk.Storage;

namespace ZeroDisk.NbdHost.Serving;

/// <summary>
/// The exports of this server: one <see cref="VdiskStorage"/> per vdisk etcd lists for it, shared by every
/// connection. Asked on each handshake, so a vdisk added in etcd is exportable without a restart.
/// A vdisk fenced out (a newer owner, or this process's owner lease ran out) stops being exported; at the next
/// reading of etcd it is claimed again, with a new epoch, if its owner key is free by then (docs/DECISIONS.md).
/// A vdisk no longer listed for this server is stopped first (no engine command of it is sent any more), its
/// connections are closed and waited for (each ends only once its requests have), and only then is its owner key
/// released: no write of this process can land after another process may own the vdisk.
/// </summary>
public sealed class VdiskCatalog(StorageEngines engines, IWriteJournal journal, StorageOptions options, IStderrEvents events, VdiskOwnerClaims owners, ILoggerFactory loggers)
    : INbdExportCatalog, IAsyncDisposable
{
    private readonly ILogger _log = loggers.CreateLogger<VdiskCatalog>();
    private readonly SemaphoreSlim _applyGate = new(1, 1);
    private readonly Dictionary<string, long> _droppedAt = new(StringComparer.Ordinal); // under _applyGate
    private volatile Dictionary<string, VdiskStorage> _vdisks = new(StringComparer.Ordinal);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<VdiskStorage, VdiskConnections> _connections = new(ReferenceEqualityComparer.Instance);

    public IReadOnlyList<NbdExportInfo> List() =>
        _vdisks.Values.Select(v => new NbdExportInfo(v.VdiskId, $"vdisk {v.VdiskId} ({v.Config.Static.Size} GiB, {v.BlockSize} B blocks)")).ToList();

    public ValueTask<INbdExport?> OpenAsync(string name, CancellationToken ct) =>
        ValueTask.FromResult<INbdExport?>(Find(name) is { } vdisk ? _connections.GetOrAdd(vdisk, static _ => new VdiskConnections()).Connect(vdisk) : null);

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
                    if (StillDraining(id)) continue;
                    if (await owners.TryOwnAsync(id, CancellationToken.None) is not { } term) continue;
                    vdisk = new VdiskStorage(config, term.Epoch, engines, journal, options, events, loggers, term.Lease);
                    try
                    {
                        await vdisk.ApplyAsync(config);
                    }
                    catch (VdiskRefusedException refused)
                    {
                        _log.LogError("vdisk {Vdisk} is not exported: {Reason}", id, refused.Message);
                        await vdisk.CloseAsync();
                        await owners.ReleaseAsync(id);
                        continue;
                    }
                    if (vdisk.IsFenced)
                    {
                        // Raising the fence found a newer owner's epoch: that owner serves it, not this process.
                        await vdisk.CloseAsync();
                        await owners.ReleaseAsync(id);
                        continue;
                    }
                    vdisk.Fenced += OnFenced;
                    if (vdisk.IsFenced) OnFenced(vdisk); // the lease lapsed before the handler was there to see it
                    _log.LogInformation("exporting vdisk {Vdisk} (owner epoch {Epoch}): {Size} GiB, {BlockSize} B blocks, {Shards} shards",
                        id, term.Epoch, config.Static.Size, config.Static.BlockSize, config.ShardCount);
                }
                next[id] = vdisk;
            }
            _vdisks = next;
            foreach (var (id, gone) in current.Where(c => !next.ContainsKey(c.Key)))
            {
                _log.LogInformation("vdisk {Vdisk} is no longer listed for this server: no longer exported; stopping it and closing its connections before its owner key is released", id);
                await RetireAsync(gone);
            }
        }
        finally
        {
            _applyGate.Release();
        }
    }

    /// <summary>Stops the vdisk, ends its connections and waits for them (so for their requests), then lets go of the owner key.</summary>
    private async Task RetireAsync(VdiskStorage vdisk)
    {
        vdisk.StopServing("no longer listed for this server");
        vdisk.EndConnections();
        if (_connections.TryGetValue(vdisk, out var connections) && !await connections.WaitUntilNoneAsync(RetireTimeout))
            _log.LogWarning("vdisk {Vdisk}: {Open} connections still open {Timeout} after it was stopped; releasing its owner key anyway " +
                "(the stopped vdisk sends nothing more to the engines)", vdisk.VdiskId, connections.Open, RetireTimeout);
        await vdisk.CloseAsync();
        await owners.ReleaseAsync(vdisk.VdiskId);
        _connections.TryRemove(vdisk, out _);
        _log.LogInformation("vdisk {Vdisk} (owner epoch {Epoch}): stopped, connections closed, owner key released", vdisk.VdiskId, vdisk.OwnerEpoch);
    }

    /// <summary>How long a retiring vdisk's connections may take to end: their requests are bounded by the command timeout.</summary>
    private TimeSpan RetireTimeout => 3 * DrainPeriod;

    /// <summary>
    /// A request of this process's last term of the vdisk may still be in flight (it passed its checks just before
    /// the fence tripped): none is claimed again until the command timeout has passed since it was dropped, so the
    /// new term's writes never race the old term's on one side of a shard. Another process has to wait for the lease
    /// to expire, which is later still.
    /// </summary>
    private bool StillDraining(string vdiskId)
    {
        if (!_droppedAt.TryGetValue(vdiskId, out var droppedAt)) return false;
        if (System.Diagnostics.Stopwatch.GetElapsedTime(droppedAt) < DrainPeriod) return true;
        _droppedAt.Remove(vdiskId);
        return false;
    }

    private TimeSpan DrainPeriod => options.CommandTimeout + TimeSpan.FromSeconds(1);

    /// <summary>The vdisk is fenced out (a newer owner, or the owner lease lapsed): stop exporting it and let go of the owner key.</summary>
    private void OnFenced(VdiskStorage fenced) => _ = DropFencedAsync(fenced);

    /// <summary>
    /// Its clients got EIO meanwhile (what they sent before the fence tripped has landed or failed by now); closing
    /// their connections lets one that reconnects by itself reach the vdisk again once it is claimed again.
    /// </summary>
    private async Task EndConnectionsAfterDrainAsync(VdiskStorage fenced)
    {
        await Task.Delay(DrainPeriod);
        _log.LogInformation("vdisk {Vdisk} (owner epoch {Epoch}): closing the connections still open to it", fenced.VdiskId, fenced.OwnerEpoch);
        fenced.EndConnections();
        if (_connections.TryGetValue(fenced, out var connections)) await connections.WaitUntilNoneAsync(RetireTimeout);
        _connections.TryRemove(fenced, out _);
    }

    private async Task DropFencedAsync(VdiskStorage fenced)
    {
        await _applyGate.WaitAsync();
        try
        {
            if (!_vdisks.TryGetValue(fenced.VdiskId, out var current) || !ReferenceEquals(current, fenced)) return;
            _vdisks = new Dictionary<string, VdiskStorage>(_vdisks.Where(v => v.Key != fenced.VdiskId), StringComparer.Ordinal);
            _droppedAt[fenced.VdiskId] = System.Diagnostics.Stopwatch.GetTimestamp();
            _log.LogWarning("vdisk {Vdisk} (owner epoch {Epoch}) is no longer exported: fenced out; claimed again with a new epoch once its owner key is free",
                fenced.VdiskId, fenced.OwnerEpoch);
            await fenced.CloseAsync();
            // Revoking a lapsed lease frees the key now if etcd still has it (a short etcd hiccup), instead of after the TTL.
            await owners.ReleaseAsync(fenced.VdiskId);
            _ = EndConnectionsAfterDrainAsync(fenced);
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
