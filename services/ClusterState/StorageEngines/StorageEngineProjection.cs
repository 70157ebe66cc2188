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
        var (configKv, statusKv) = await etcd.GetTwoAsync(configKey, statusKey, ct);
        transaction.ExpectModRevision(configKey, configKv?.ModRevision ?? 0);
        transaction.ExpectModRevision(statusKey, statusKv?.ModRevision ?? 0);
        // A report checked against its twins (LastServingSideCheck) commits only if the twins' states are still what
        // the check read: two twins reported at once cannot both pass as single failures.
        if (saga.ReportVerdict is { } verdict)
            foreach (var (twinCluster, revision) in verdict.TwinConfigRevisions.Where(t => t.Key != saga.ClusterId))
                transaction.ExpectModRevision(EtcdKeys.StorageClusterConfig(twinCluster), revision);
        if (configKv is null) return; // the cluster was removed; the saga still records what happened

        var config = ZeroDiskJson.Deserialize<StorageClusterConfig>(configKv.Value.ToStringUtf8());
        var target = EngineStateNames.ToEngineState(saga.CurrentState);
        if (config.Servers.Any(s => s.Address == saga.Address && s.State != target))
        {
            config = ClusterHealth.WithEngineState(config, saga.Address, target);
            transaction.Put(configKey, ZeroDiskJson.Serialize(config));
        }
        var status = ClusterHealth.Derive(config).ToWire();
        if (statusKv?.Value.ToStringUtf8() != status)
            transaction.Put(statusKey, status);
    }
}
