using ZeroDisk.ServiceDefaults.Etcd;
using dotnet_etcd;
using ZeroDisk.ClusterState.Extensions;
using ZeroDisk.ClusterState.Persistence;
using ZeroDisk.Contracts;

namespace ZeroDisk.ClusterState.Topology;

public sealed record ClusterEntry(string ClusterId, StorageClusterConfig Config, long ModRevision);

public sealed record VdiskEntry(string VdiskId, VdiskNbdConfig Nbd);

/// <summary>A cluster's <c>&lt;clusterID&gt;:cluster:status</c> value as read.</summary>
public sealed record StatusEntry(string Value, long ModRevision);

/// <summary>Every cluster, its status and every vdisk's NBD config, read at one etcd revision.</summary>
public sealed record TopologySnapshot(IReadOnlyList<ClusterEntry> Clusters, IReadOnlyList<VdiskEntry> Vdisks, IReadOnlyDictionary<string, StatusEntry> Statuses)
{
    public ClusterEntry? Cluster(string clusterId) => Clusters.FirstOrDefault(c => c.ClusterId == clusterId);

    /// <summary>The cluster's status key as read with the clusters, or null when it has none.</summary>
    public StatusEntry? StatusOf(string clusterId) => Statuses.GetValueOrDefault(clusterId);

    public ClusterEntry? ClusterOfEngine(string address) => Clusters.FirstOrDefault(c => c.Config.Servers.Any(s => s.Address == address));

    /// <summary>The vdisks an outage of an engine of this cluster affects: those using it as primary or slave, ordered by id.</summary>
    public IReadOnlyList<string> VdisksUsing(string clusterId) =>
        Vdisks.Where(v => v.Nbd.StorageClusterID == clusterId || v.Nbd.SlaveStorageClusterID == clusterId)
            .Select(v => v.VdiskId).Order(StringComparer.Ordinal).ToList();
}

/// <summary>
/// Which cluster an engine belongs to and which vdisks use a cluster, read from etcd on demand. It is asked once
/// per incident (at the Offline transition) and by the admin API and reconciler; a cache of what etcd holds could be
/// stale exactly when an incident starts, so only the parse of each value is kept, by its mod revision. A failure
/// report reads one <see cref="SnapshotAsync"/> (one pass over the key space for clusters and vdisks) for everything it
/// decides; reports that ask together share one pass that started after each of them asked (<see cref="SharedFreshRead{T}"/>).
/// </summary>
public sealed class ClusterTopology
{
    private readonly EtcdClient etcd;
    private readonly ClusterStateOptions options;
    private readonly ParsedByRevision<StorageClusterConfig> _clusters = new(TryParse<StorageClusterConfig>);
    private readonly ParsedByRevision<VdiskNbdConfig> _vdisks = new(TryParse<VdiskNbdConfig>);
    private readonly SharedFreshRead<TopologySnapshot> _snapshots;

    public ClusterTopology(EtcdClient etcd, ClusterStateOptions options)
    {
        this.etcd = etcd;
        this.options = options;
        _snapshots = new SharedFreshRead<TopologySnapshot>(ReadSnapshotAsync);
    }

    public async Task<IReadOnlyList<ClusterEntry>> ClustersAsync(CancellationToken ct) =>
        ParseClusters(await etcd.ScanSuffixAsync(options.KeyScope, EtcdKeys.StorageClusterConfigSuffix, ct));

    /// <summary>Topology passes started so far (reports that asked together share one).</summary>
    public long SnapshotReads => _snapshots.Reads;

    /// <summary>Every cluster and vdisk as etcd holds them at some revision after this call began.</summary>
    public Task<TopologySnapshot> SnapshotAsync(CancellationToken ct) => _snapshots.ReadAsync(ct);

    private async Task<TopologySnapshot> ReadSnapshotAsync(CancellationToken ct)
    {
        // The statuses ride along (the pass reads their keys anyway): a transition's commit compares the status it read.
        var scanned = await etcd.ScanSuffixesAsync(options.KeyScope,
            [EtcdKeys.StorageClusterConfigSuffix, EtcdKeys.VdiskNbdConfigSuffix, EtcdKeys.ClusterStatusSuffix], ct);
        var vdisks = _vdisks.Parse(scanned[1])
            .Where(v => v.Value is not null)
            .Select(v => new VdiskEntry(EtcdKeys.VdiskIdOfNbdConfig(v.Key)!, v.Value!))
            .ToList();
        var statuses = scanned[2].ToDictionary(kv => EtcdKeys.ClusterIdOfStatus(kv.Key.ToStringUtf8())!, kv => new StatusEntry(kv.Value.ToStringUtf8(), kv.ModRevision), StringComparer.Ordinal);
        return new TopologySnapshot(ParseClusters(scanned[0]), vdisks, statuses);
    }

    private List<ClusterEntry> ParseClusters(IReadOnlyList<Mvccpb.KeyValue> kvs) =>
        _clusters.Parse(kvs)
            .Where(c => c.Value is not null) // a malformed value is not ours to manage; the NBD servers reject it too
            .Select(c => new ClusterEntry(EtcdKeys.ClusterIdOfStorageConfig(c.Key)!, c.Value!, c.Revision))
            .ToList();

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
            return null;
        }
    }
}
