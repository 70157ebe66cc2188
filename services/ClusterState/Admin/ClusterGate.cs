using dotnet_etcd;
using ZeroDisk.ClusterState.Persistence;
using ZeroDisk.ClusterState.Topology;
using ZeroDisk.Contracts;

namespace ZeroDisk.ClusterState.Admin;

/// <summary>
/// Seed step 1: no vdisk creation or deletion while a cluster is repairing. Adds to a transaction the compares
/// that make it fail if either cluster stops being healthy before it commits.
/// </summary>
public static class ClusterGate
{
    /// <summary>Null when the cluster is healthy (and the guard was added), else why not.</summary>
    public static async Task<AdminResult?> RequireHealthyAsync(EtcdClient etcd, EtcdTransaction transaction, string clusterId, CancellationToken ct)
    {
        var configKey = EtcdKeys.StorageClusterConfig(clusterId);
        var config = await etcd.GetAsync(configKey, ct);
        if (config is null) return new AdminResult(400, $"storage cluster '{clusterId}' does not exist");
        var statusKey = EtcdKeys.ClusterStatus(clusterId);
        var status = await etcd.GetAsync(statusKey, ct);
        var healthy = ClusterStatus.Healthy.ToWire();
        if (status is not null)
        {
            if (status.Value.ToStringUtf8() != healthy)
                return new AdminResult(409, $"storage cluster '{clusterId}' is {status.Value.ToStringUtf8()}: no vdisk creation or deletion until it is healthy");
            transaction.ExpectValue(statusKey, healthy);
            return null;
        }
        // No status written yet: the engines' states decide, and they must not change before the commit.
        var derived = ClusterHealth.Derive(ZeroDiskJson.Deserialize<StorageClusterConfig>(config.Value.ToStringUtf8()));
        if (derived != ClusterStatus.Healthy)
            return new AdminResult(409, $"storage cluster '{clusterId}' is {derived.ToWire()}: no vdisk creation or deletion until it is healthy");
        transaction.ExpectVersion(statusKey, 0).ExpectModRevision(configKey, config.ModRevision);
        return null;
    }
}
