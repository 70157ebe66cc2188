using ZeroDisk.ServiceDefaults.Etcd;
using dotnet_etcd;
using ZeroDisk.ClusterState.Extensions;
using ZeroDisk.ClusterState.Persistence;
using ZeroDisk.Contracts;

namespace ZeroDisk.ClusterState.Topology;

public sealed record ClusterEntry(string ClusterId, StorageClusterConfig Config, long ModRevision);

public sealed record VdiskEntry(string VdiskId, VdiskNbdConfig Nbd);

/// <summary>
/// Which cluster an engine belongs to and which vdisks use a cluster, read from etcd on demand. It is asked once
/// per incident (at the Offline transition) and by the admin API and reconciler, so a cache would save little
/// and could be stale exactly when an incident starts.
/// </summary>
public sealed class ClusterTopology(EtcdClient etcd, ClusterStateOptions options)
{
    public async Task<IReadOnlyList<ClusterEntry>> ClustersAsync(CancellationToken ct)
    {
        var kvs = await etcd.ScanSuffixAsync(options.KeyScope, EtcdKeys.StorageClusterConfigSuffix, ct);
        var clusters = new List<ClusterEntry>(kvs.Count);
        foreach (var kv in kvs)
        {
            var key = kv.Key.ToStringUtf8();
            if (TryParse<StorageClusterConfig>(kv.Value.ToStringUtf8()) is { } config)
                clusters.Add(new ClusterEntry(EtcdKeys.ClusterIdOfStorageConfig(key)!, config, kv.ModRevision));
        }
        return clusters;
    }

    public async Task<ClusterEntry?> ClusterOfEngineAsync(string address, CancellationToken ct) =>
        (await ClustersAsync(ct)).FirstOrDefault(c => c.Config.Servers.Any(s => s.Address == address));

    public async Task<IReadOnlyList<VdiskEntry>> VdisksAsync(CancellationToken ct) =>
        (await etcd.AllVdiskNbdConfigsAsync(options.KeyScope, ct)).Select(kv => new VdiskEntry(kv.Key, kv.Value)).ToList();

    /// <summary>The vdisks an outage of an engine of this cluster affects: those using it as primary or slave.</summary>
    public Task<IReadOnlyList<string>> VdisksUsingAsync(string clusterId, CancellationToken ct) =>
        etcd.VdisksInClusterAsync(clusterId, options.KeyScope, ct);

    private static T? TryParse<T>(string json) where T : class
    {
        try
        {
            return ZeroDiskJson.Deserialize<T>(json);
        }
        catch (System.Text.Json.JsonException)
        {
            return null; // a malformed value is not ours to manage; the NBD servers reject it too
        }
    }
}
