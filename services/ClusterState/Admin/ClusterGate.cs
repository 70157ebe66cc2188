using dotnet_etcd;
using ZeroDisk.ClusterState.Persistence;
using ZeroDisk.ClusterState.Topology;
using ZeroDisk.Contracts;
using ZeroDisk.Contracts.Admin;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.ClusterState.Admin;

/// <summary>
/// Seed step 1: no vdisk creation or deletion while a cluster is repairing. Adds to a transaction the compares
/// that make it fail if either cluster stops being healthy before it commits.
/// </summary>
public static class ClusterGate
{
    /// <summary>
    /// Null when the cluster is healthy (and the guard was added), else why not. The config and the status are read at
    /// one revision, both must say healthy, and the transaction compares both keys' revisions: an engine that fails
    /// (or any other change to the cluster) between this check and the commit makes the commit fail.
    /// </summary>
    public static async Task<AdminResult?> RequireHealthyAsync(EtcdClient etcd, EtcdTransaction transaction, string clusterId, CancellationToken ct)
    {
        var configKey = EtcdKeys.StorageClusterConfig(clusterId);
        var statusKey = EtcdKeys.ClusterStatus(clusterId);
        var (config, status) = await etcd.GetTwoAsync(configKey, statusKey, ct);
        if (config is null) return new AdminResult(400, $"storage cluster '{clusterId}' does not exist");
        var derived = ClusterHealth.Derive(ZeroDiskJson.Deserialize<StorageClusterConfig>(config.Value.ToStringUtf8()));
        var written = status?.Value.ToStringUtf8();
        if (written is not null && written != ClusterStatus.Healthy.ToWire())
            return new AdminResult(409, $"storage cluster '{clusterId}' is {written}: no vdisk creation or deletion until it is healthy");
        if (derived != ClusterStatus.Healthy)
            return new AdminResult(409, $"storage cluster '{clusterId}' is {derived.ToWire()}: no vdisk creation or deletion until it is healthy");
        transaction.ExpectModRevision(configKey, config.ModRevision).ExpectModRevision(statusKey, status?.ModRevision ?? 0);
        return null;
    }
}
