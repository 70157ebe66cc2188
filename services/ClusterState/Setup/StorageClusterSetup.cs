using dotnet_etcd;
using ZeroDisk.ClusterState.Admin;
using ZeroDisk.ClusterState.Persistence;
using ZeroDisk.ClusterState.Topology;
using ZeroDisk.Contracts;
using ZeroDisk.Contracts.Admin;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.ClusterState.Setup;

/// <summary>
/// Storage clusters set up through the admin API: create one from its engines, add an engine,
/// replace one. Each writes the engines' identity markers on the engines first and then, in one etcd transaction,
/// the markers, the cluster config and its status.
/// </summary>
public sealed class StorageClusterSetup(EtcdClient etcd, ClusterTopology topology)
{
    public async Task<AdminResult> CreateAsync(CreateStorageClusterRequest request, CancellationToken ct)
    {
        var engines = (request.Engines ?? []).Select(a => new StorageServerConfig(a, request.Db)).ToList();
        var config = new StorageClusterConfig(engines);
        var errors = new List<string>();
        if (!ConfigValidation.IsValidId(request.Id)) errors.Add($"cluster id '{request.Id}' must be 1-128 letters, digits, '-', '_' or '.'");
        errors.AddRange(ConfigValidation.Validate(config));
        if (errors.Count > 0) return new AdminResult(400, string.Join("; ", errors));

        var configKey = EtcdKeys.StorageClusterConfig(request.Id);
        if (await etcd.GetJsonAsyncOrNull<StorageClusterConfig>(configKey, ct) is { } existing)
        {
            // Repeating a create that succeeded (a setup script run again) is not an error; anything else is.
            return existing.Servers.Select(s => (s.Address, s.Db)).SequenceEqual(engines.Select(s => (s.Address, s.Db)))
                ? new AdminResult(200, $"storage cluster '{request.Id}' already exists with these engines")
                : new AdminResult(409, $"storage cluster '{request.Id}' already exists with other engines: {string.Join(", ", existing.Servers.Select(s => s.Address))}");
        }
        if (await InOtherClustersAsync(request.Id, engines, ct) is { } taken) return taken;

        var transaction = new EtcdTransaction()
            .ExpectVersion(configKey, 0)
            .ExpectVersion(EtcdKeys.ClusterStatus(request.Id), 0);
        await using var registration = new EngineRegistration(etcd);
        if (await registration.MarkAsync(request.Id, engines, transaction, ct) is { } refused) return refused;
        transaction
            .Put(configKey, ZeroDiskJson.Serialize(config))
            .Put(EtcdKeys.ClusterStatus(request.Id), ClusterStatus.Healthy.ToWire());
        if (!await transaction.CommitAsync(etcd, ct))
        {
            await registration.RollBackAsync();
            return new AdminResult(409, $"storage cluster '{request.Id}' or one of its engines was registered meanwhile; nothing was changed");
        }
        return new AdminResult(201, $"storage cluster '{request.Id}' created with {engines.Count} engine(s), identity markers registered",
            registration.Markers.Select(m => $"{m.Key}: {m.Value}").ToList());
    }

    /// <summary>The next shard. Only while no vdisk uses the cluster: block i lives on shard i % N, so a new N moves every block.</summary>
    public Task<AdminResult> AddEngineAsync(string clusterId, AddEngineRequest request, CancellationToken ct) =>
        ChangeEnginesAsync(clusterId, new StorageServerConfig(request.Address, request.Db), config => config.Servers.Append(new StorageServerConfig(request.Address, request.Db)).ToList(),
            null, $"engine {request.Address} added to storage cluster '{clusterId}' as shard", ct);

    /// <summary>
    /// Another engine for a shard (a wrong address, a host moved before use). Only while no vdisk uses the cluster:
    /// an engine that replaces a used one would have to hold its blocks, and there is no full rebuild;
    /// a lost engine of a used cluster is declared permanent instead, and its shard respread.
    /// </summary>
    public Task<AdminResult> ReplaceEngineAsync(string clusterId, string oldAddress, ReplaceEngineRequest request, CancellationToken ct) =>
        ChangeEnginesAsync(clusterId, new StorageServerConfig(request.Address, request.Db),
            config => config.Servers.Any(s => s.Address == oldAddress)
                ? config.Servers.Select(s => s.Address == oldAddress ? new StorageServerConfig(request.Address, request.Db) : s).ToList()
                : null,
            oldAddress, $"engine {oldAddress} of storage cluster '{clusterId}' replaced by {request.Address} as shard", ct);

    private async Task<AdminResult> ChangeEnginesAsync(string clusterId, StorageServerConfig engine, Func<StorageClusterConfig, List<StorageServerConfig>?> change,
        string? removed, string done, CancellationToken ct)
    {
        if (!ConfigValidation.IsHostPort(engine.Address) || engine.Db < 0) return new AdminResult(400, $"engine '{engine.Address}' must be host:port with a db >= 0");
        var configKey = EtcdKeys.StorageClusterConfig(clusterId);
        var kv = await etcd.GetAsync(configKey, ct);
        if (kv is null) return new AdminResult(404, $"storage cluster '{clusterId}' does not exist");
        var config = ZeroDiskJson.Deserialize<StorageClusterConfig>(kv.Value.ToStringUtf8());
        if (change(config) is not { } servers) return new AdminResult(404, $"engine {removed} is not in storage cluster '{clusterId}'");
        var changed = new StorageClusterConfig(servers);
        if (ConfigValidation.Validate(changed) is { Count: > 0 } errors) return new AdminResult(400, string.Join("; ", errors));
        var used = await topology.VdisksUsingAsync(clusterId, ct);
        if (used.Count > 0)
            return new AdminResult(409, $"storage cluster '{clusterId}' is used by vdisk(s) {string.Join(", ", used.Take(5))}: block i lives on shard i % N, so changing "
                                        + "its engines would strand their blocks; declare a lost engine's outage permanent instead (its shard is respread)");
        if (await InOtherClustersAsync(clusterId, [engine], ct) is { } taken) return taken;

        var transaction = new EtcdTransaction().ExpectModRevision(configKey, kv.ModRevision);
        await using var registration = new EngineRegistration(etcd);
        if (await registration.MarkAsync(clusterId, [engine], transaction, ct) is { } refused) return refused;
        transaction.Put(configKey, ZeroDiskJson.Serialize(changed));
        if (removed is not null) transaction.Delete(EtcdKeys.EngineIdentity(removed));
        // Status follows the engines: a new engine is online, so the cluster is healthy if the others are.
        transaction.Put(EtcdKeys.ClusterStatus(clusterId), ClusterHealth.Derive(changed).ToWire());
        if (!await transaction.CommitAsync(etcd, ct))
        {
            await registration.RollBackAsync();
            return new AdminResult(409, $"storage cluster '{clusterId}' changed meanwhile; nothing was changed, try again");
        }
        var shard = changed.Servers.ToList().FindIndex(s => s.Address == engine.Address);
        return new AdminResult(200, $"{done} {shard}, identity marker registered", registration.Markers.Select(m => $"{m.Key}: {m.Value}").ToList());
    }

    /// <summary>An engine listed by another cluster (within this deployment's key scope) is that cluster's.</summary>
    private async Task<AdminResult?> InOtherClustersAsync(string clusterId, IEnumerable<StorageServerConfig> engines, CancellationToken ct)
    {
        var clusters = await topology.ClustersAsync(ct);
        var taken = engines
            .SelectMany(e => clusters.Where(c => c.ClusterId != clusterId && c.Config.Servers.Any(s => s.Address == e.Address)).Select(c => $"{e.Address} is in storage cluster '{c.ClusterId}'"))
            .ToList();
        return taken.Count > 0 ? new AdminResult(409, $"refused: {string.Join("; ", taken)}; nothing was changed") : null;
    }
}
