using ZeroDisk.ServiceDefaults.Etcd;
using dotnet_etcd;
using ZeroDisk.ClusterState.Extensions;
using ZeroDisk.ClusterState.Persistence;
using ZeroDisk.Contracts;

namespace ZeroDisk.ClusterState.Topology;

public sealed record ClusterEntry(string ClusterId, StorageClusterConfig Config, long ModRevision);

public sealed record VdiskEntry(string VdiskId, VdiskNbdConfig Nbd);

/// <summary>Every cluster and every vdisk's NBD config, read at one etcd revision.</summary>
public sealed record TopologySnapshot(IReadOnlyList<ClusterEntry> Clusters, IReadOnlyList<VdiskEntry> Vdisks)
{
    public ClusterEntry? ClusterOfEngine(string address) => Clusters.FirstOrDefault(c => c.Config.Servers.Any(s => s.Address == address));

    /// <summary>The vdisks an outage of an engine of this cluster affects: those using it as primary or slave, ordered by id.</summary>
    public IReadOnlyList<string> VdisksUsing(string clusterId) =>
        Vdisks.Where(v => v.Nbd.StorageClusterID == clusterId || v.Nbd.SlaveStorageClusterID == clusterId)
            .Select(v => v.VdiskId).Order(StringComparer.Ordinal).ToList();
}

/// <summary>
/// Which cluster an engine belongs to and which vdisks use a cluster, read from etcd on demand. It is asked once
/// per incident (at the Offline transition) and by the admin API and reconciler, so a cache would save little
/// and could be stale exactly when an incident starts. A failure report reads one <see cref="SnapshotAsync"/>
/// (one pass over the key space for clusters and vdisks) for everything it decides.
/// </summary>
public sealed class ClusterTopology(EtcdClient etcd, ClusterStateOptions options)
{
    public async Task<IReadOnlyList<ClusterEntry>> ClustersAsync(CancellationToken ct) =>
        ParseClusters(await etcd.ScanSuffixAsync(options.KeyScope, EtcdKeys.StorageClusterConfigSuffix, ct));

    public async Task<TopologySnapshot> SnapshotAsync(CancellationToken ct)
    {
        var scanned = await etcd.ScanSuffixesAsync(options.KeyScope, [EtcdKeys.StorageClusterConfigSuffix, EtcdKeys.VdiskNbdConfigSuffix], ct);
        return new TopologySnapshot(ParseClusters(scanned[0]), VdiskDirectory.ParseNbdConfigs(scanned[1]).Select(kv => new VdiskEntry(kv.Key, kv.Value)).ToList());
    }

    private static List<ClusterEntry> ParseClusters(IReadOnlyList<Mvccpb.KeyValue> kvs)
    {
        var clusters = new List<ClusterEntry>(kvs.Count);
        foreach (var kv in kvs)
        {
            var key = kv.Key.ToStringUtf8();
            if (TryParse<StorageClusterConfig>(kv.Value.ToStringUtf8()) is { } config)
                clusters.Add(new ClusterEntry(EtcdKeys.ClusterIdOfStorageConfig(key)!, config, kv.ModRevision));
        }
        return clusters;
    }

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
