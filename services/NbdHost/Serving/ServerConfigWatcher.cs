using System.Threading.Channels;
using dotnet_etcd;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ZeroDisk.Contracts;
using ZeroDisk.NbdHost.Configuration;
using ZeroDisk.Storage;

namespace ZeroDisk.NbdHost.Serving;

/// <summary>
/// Keeps this server's exports in line with etcd: the vdisks listed under <c>&lt;serverID&gt;:nbdserver:conf:vdisks</c>,
/// each with its static and nbd config and both clusters' configs. Any change to one of those keys (seen by a
/// watch) or 10 s without one triggers a re-read; each key is validated on its own and a bad value leaves the last
/// good one in force. Engine state transitions to online or repair-tmp-outage make a failed engine usable again.
/// </summary>
public sealed class ServerConfigWatcher(ServeOptions serve, EtcdClient etcd, VdiskCatalog catalog, StorageEngines engines, ILogger<ServerConfigWatcher> log)
    : BackgroundService
{
    private readonly ValidatedEtcdValues _values = new(etcd, log);
    private readonly Channel<bool> _changed = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly TaskCompletionSource _firstLoad = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Dictionary<string, EngineState> _engineStates = new(StringComparer.Ordinal);
    private readonly HashSet<string> _missingReported = new(StringComparer.Ordinal);
    private KeyWatches? _watches;
    private KeyWatches Watches => _watches ??= new KeyWatches(serve.EtcdEndpoints, () => _changed.Writer.TryWrite(true), log);

    /// <summary>Completes after the first read of etcd has been applied (exports are known).</summary>
    public Task FirstLoad => _firstLoad.Task;

    protected override async Task ExecuteAsync(CancellationToken ct)
    {
        await RefreshGuardedAsync(ct);
        _firstLoad.TrySetResult();
        while (!ct.IsCancellationRequested)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(serve.RereadInterval);
            try
            {
                await _changed.Reader.ReadAsync(timeout.Token);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
            }
            catch (OperationCanceledException)
            {
                break;
            }
            await RefreshGuardedAsync(ct);
        }
        await Watches.DisposeAsync();
    }

    private async Task RefreshGuardedAsync(CancellationToken ct)
    {
        try
        {
            await RefreshAsync(ct);
        }
        catch (Exception ex) when (!ct.IsCancellationRequested)
        {
            log.LogError(ex, "reading the configuration from etcd failed; the current one stays in force");
        }
    }

    /// <summary>Reads every key this server depends on and applies what is valid.</summary>
    public async Task RefreshAsync(CancellationToken ct)
    {
        var interest = new HashSet<string>(StringComparer.Ordinal);
        var listKey = EtcdKeys.NbdServerVdisks(serve.ServerId);
        interest.Add(listKey);
        var list = serve.RepairOnly is { } job
            ? new NbdServerVdisksConfig([job.VdiskId])
            : await _values.ReadAsync<NbdServerVdisksConfig>(listKey, ValidateList, ct);
        var configs = new Dictionary<string, VdiskConfig>(StringComparer.Ordinal);
        foreach (var vdiskId in (list?.Vdisks ?? []).Distinct())
        {
            var config = await ReadVdiskAsync(vdiskId, interest, ct);
            if (config is not null) configs[vdiskId] = config;
        }
        await ReadIdentitiesAsync(configs.Values, interest, ct);
        Watches.Update(interest, _values.Revision + 1);
        // Restored engines are verified before the vdisks see the new states, so they are usable (and recorded) at once.
        await RestoreReturnedEnginesAsync(configs.Values);
        await catalog.ApplyAsync(configs);
    }

    private async Task<VdiskConfig?> ReadVdiskAsync(string vdiskId, HashSet<string> interest, CancellationToken ct)
    {
        var staticKey = EtcdKeys.VdiskStaticConfig(vdiskId);
        var nbdKey = EtcdKeys.VdiskNbdConfig(vdiskId);
        interest.Add(staticKey);
        interest.Add(nbdKey);
        var staticConfig = await _values.ReadAsync<VdiskStaticConfig>(staticKey, ConfigValidation.Validate, ct);
        var nbd = await _values.ReadAsync<VdiskNbdConfig>(nbdKey, ConfigValidation.Validate, ct);
        if (staticConfig is null || nbd is null) return Missing(vdiskId, staticConfig is null ? staticKey : nbdKey);
        var primaryKey = EtcdKeys.StorageClusterConfig(nbd.StorageClusterID);
        var slaveKey = EtcdKeys.StorageClusterConfig(nbd.SlaveStorageClusterID);
        interest.Add(primaryKey);
        interest.Add(slaveKey);
        var primary = await _values.ReadAsync<StorageClusterConfig>(primaryKey, ConfigValidation.Validate, ct);
        var slave = await _values.ReadAsync<StorageClusterConfig>(slaveKey, ConfigValidation.Validate, ct);
        if (primary is null || slave is null) return Missing(vdiskId, primary is null ? primaryKey : slaveKey);
        _missingReported.Remove(vdiskId);

        var candidate = new VdiskConfig(vdiskId, staticConfig, nbd, primary, slave);
        var current = catalog.Find(vdiskId)?.Config;
        var problems = ConfigValidation.ValidatePair(primary, slave).ToList();
        if (current is not null)
        {
            // Blocks are placed by shard count and block size: changing either under a running vdisk loses data.
            if (current.ShardCount != candidate.ShardCount)
                problems.Add($"the cluster size changed from {current.ShardCount} to {candidate.ShardCount} servers under a vdisk in use");
            if (current.Static.BlockSize != candidate.Static.BlockSize)
                problems.Add($"blockSize changed from {current.Static.BlockSize} to {candidate.Static.BlockSize} under a vdisk in use");
        }
        if (problems.Count == 0) return candidate;
        _values.Reject($"{primaryKey} + {slaveKey} (vdisk {vdiskId})", _values.Revision, string.Join("; ", problems), current is not null);
        return current;
    }

    private VdiskConfig? Missing(string vdiskId, string key)
    {
        if (_missingReported.Add(vdiskId))
            log.LogWarning("vdisk {Vdisk} is listed for this server but etcd key '{Key}' has no usable value; not exported until it has", vdiskId, key);
        return null;
    }

    private static IReadOnlyList<string> ValidateList(NbdServerVdisksConfig config) =>
        config.Vdisks is null
            ? ["vdisks must be a list"]
            : config.Vdisks.Where(v => !ConfigValidation.IsValidId(v)).Select(v => $"'{v}' is not a valid vdisk id").ToList();

    /// <summary>
    /// Each engine's identity marker as etcd registered it (identity is checked, never assumed): an engine is used only once its
    /// marker was seen equal to it, and every write checks it again on the engine, in the same script as the fence.
    /// An engine in use is checked again at every re-read (a wiped engine that stayed connected is caught within one
    /// <see cref="ServeOptions.RereadInterval"/> even if nothing writes to it), and at once when its registration changes.
    /// </summary>
    private async Task ReadIdentitiesAsync(IEnumerable<VdiskConfig> configs, HashSet<string> interest, CancellationToken ct)
    {
        var addresses = configs.SelectMany(c => c.Primary.Servers.Concat(c.Slave.Servers)).Select(s => s.Address).Distinct(StringComparer.Ordinal);
        var checks = new List<Task>();
        foreach (var address in addresses)
        {
            var key = EtcdKeys.EngineIdentity(address);
            interest.Add(key);
            var response = await etcd.GetAsync(key, cancellationToken: ct);
            var engine = engines.Get(address);
            engine.ExpectedIdentity = response.Kvs.Count > 0 ? response.Kvs[0].Value.ToStringUtf8() : "";
            if (engine.RunId is not null && !engine.IsFailed) checks.Add(engines.VerifyIdentityAsync(engine)); // in use: check again
        }
        await Task.WhenAll(checks);
    }

    /// <summary>
    /// An engine etcd moves to online or repair-tmp-outage starts a new life: this process may use it again. An engine
    /// that no listed vdisk uses is forgotten here: etcd's transitions are not watched for it, so a failure this
    /// process saw meanwhile (its connection kept, a restart, a network blip) would otherwise keep it failed for good
    /// once a vdisk uses it again, although etcd long brought it back. When a vdisk brings it back into use, this process
    /// takes it as a fresh process would: usable if etcd says so and its identity marker checks out; what it may have
    /// missed is found as a fresh process finds it (dirty sets, the owner's record of its run_id).
    /// </summary>
    private Task RestoreReturnedEnginesAsync(IEnumerable<VdiskConfig> configs)
    {
        var restores = new List<Task>();
        var servers = configs.SelectMany(c => c.Primary.Servers.Concat(c.Slave.Servers)).DistinctBy(s => s.Address).ToList();
        var used = servers.Select(s => s.Address).ToHashSet(StringComparer.Ordinal);
        foreach (var unused in _engineStates.Keys.Where(a => !used.Contains(a)).ToList()) _engineStates.Remove(unused);
        foreach (var server in servers)
        {
            var known = _engineStates.TryGetValue(server.Address, out var before);
            _engineStates[server.Address] = server.State;
            if ((!known || before != server.State) && server.State is EngineState.Online or EngineState.RepairTmpOutage)
                restores.Add(engines.RestoreAsync(server.Address));
        }
        return Task.WhenAll(restores);
    }
}
