using dotnet_etcd;
using ZeroDisk.ClusterState.Persistence;
using ZeroDisk.ClusterState.Topology;
using ZeroDisk.Contracts;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.ClusterState.StorageEngines;

/// <summary>
/// The engine's state inside <c>&lt;clusterID&gt;:cluster:conf:storage</c> and the derived
/// <c>&lt;clusterID&gt;:cluster:status</c>, written in the saga's own transaction and guarded by the revisions read,
/// so two engines of one cluster changing at once cannot overwrite each other's state or status.
/// </summary>
public sealed class StorageEngineProjection(EtcdClient etcd) : ISagaEtcdProjection<StorageEngineSaga>
{
    public async Task AddToAsync(EtcdTransaction transaction, StorageEngineSaga saga, CancellationToken ct)
    {
        if (saga.ClusterId is null) return;
        var configKey = EtcdKeys.StorageClusterConfig(saga.ClusterId);
        var statusKey = EtcdKeys.ClusterStatus(saga.ClusterId);
        var (config, configRevision, status, statusRevision) = await ReadAsync(saga, configKey, statusKey, ct);
        transaction.ExpectModRevision(configKey, configRevision);
        transaction.ExpectModRevision(statusKey, statusRevision);
        // A report checked against its twins (LastServingSideCheck) commits only if the twins' states are still what
        // the check read: two twins reported at once cannot both pass as single failures.
        if (saga.ReportVerdict is { } verdict)
            foreach (var (twinCluster, revision) in verdict.TwinConfigRevisions.Where(t => t.Key != saga.ClusterId))
                transaction.ExpectModRevision(EtcdKeys.StorageClusterConfig(twinCluster), revision);
        if (config is null) return; // the cluster was removed; the saga still records what happened

        var target = EngineStateNames.ToEngineState(saga.CurrentState);
        if (config.Servers.Any(s => s.Address == saga.Address && s.State != target))
        {
            config = ClusterHealth.WithEngineState(config, saga.Address, target);
            transaction.Put(configKey, ZeroDiskJson.Serialize(config));
        }
        var derived = ClusterHealth.Derive(config).ToWire();
        if (status != derived)
            transaction.Put(statusKey, derived);
    }

    /// <summary>
    /// The cluster's config and status with their mod revisions (0 = absent): as the report's topology snapshot read
    /// them when it has one — read after the report arrived, and the commit compares both revisions, so a change since
    /// fails the commit and the message runs again from a fresh read — otherwise read now.
    /// </summary>
    private async Task<(StorageClusterConfig? Config, long ConfigRevision, string? Status, long StatusRevision)> ReadAsync(
        StorageEngineSaga saga, string configKey, string statusKey, CancellationToken ct)
    {
        if (saga.Topology?.Cluster(saga.ClusterId!) is { } seen)
        {
            var seenStatus = saga.Topology.StatusOf(saga.ClusterId!);
            return (seen.Config, seen.ModRevision, seenStatus?.Value, seenStatus?.ModRevision ?? 0);
        }
        var (configKv, statusKv) = await etcd.GetTwoAsync(configKey, statusKey, ct);
        return (configKv is null ? null : ZeroDiskJson.Deserialize<StorageClusterConfig>(configKv.Value.ToStringUtf8()), configKv?.ModRevision ?? 0,
            statusKv?.Value.ToStringUtf8(), statusKv?.ModRevision ?? 0);
    }
}
