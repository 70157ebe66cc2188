using dotnet_etcd;
using ZeroDisk.ClusterState.Extensions;
using ZeroDisk.ClusterState.Persistence;
using ZeroDisk.ClusterState.StorageEngines;
using ZeroDisk.ClusterState.Topology;
using ZeroDisk.ClusterState.VdiskRepairs;
using ZeroDisk.Contracts;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.Zdctl.Status;

/// <summary>
/// Reads the status straight from etcd (cluster configs and status, vdisk configs and owners, the sagas, the repair
/// jobs' heartbeat keys), with ClusterState's own topology and saga types, so it works while ClusterState is down.
/// </summary>
public sealed class StatusReader(EtcdClient etcd, string scope)
{
    public async Task<StatusReport> ReadAsync(CancellationToken ct)
    {
        var topology = new ClusterTopology(etcd, new ClusterStateOptions { KeyScope = scope });
        var clusters = await topology.ClustersAsync(ct);
        var vdisks = await topology.VdisksAsync(ct);
        var sagas = new SagaStore(etcd);
        var engineSagas = (await sagas.ListAsync<StorageEngineSaga>(ct)).GroupBy(s => s.Address).ToDictionary(g => g.Key, g => g.First());

        var clusterRows = new List<ClusterRow>();
        foreach (var cluster in clusters.OrderBy(c => c.ClusterId, StringComparer.Ordinal))
        {
            var status = await etcd.GetAsync(EtcdKeys.ClusterStatus(cluster.ClusterId), ct);
            clusterRows.Add(new ClusterRow(cluster.ClusterId, status?.Value.ToStringUtf8() ?? ClusterHealth.Derive(cluster.Config).ToWire(), cluster.Config.Servers.Count));
        }

        var sides = ClusterSides.Of(vdisks);
        var engineRows = clusters.OrderBy(c => c.ClusterId, StringComparer.Ordinal)
            .SelectMany(c => c.Config.Servers.Select((server, shard) => EngineRowOf(c.ClusterId, shard, server, sides, engineSagas.GetValueOrDefault(server.Address))))
            .ToList();

        var statics = await ValuesBySuffixAsync<VdiskStaticConfig>(EtcdKeys.VdiskStaticConfigSuffix, ct);
        var owners = await ValuesBySuffixAsync<VdiskOwner>(EtcdKeys.VdiskOwnerSuffix, ct);
        var vdiskRows = vdisks.OrderBy(v => v.VdiskId, StringComparer.Ordinal)
            .Select(v => new VdiskRow(v.VdiskId, v.Nbd.StorageClusterID, v.Nbd.SlaveStorageClusterID,
                statics.GetValueOrDefault(v.VdiskId)?.Size, statics.GetValueOrDefault(v.VdiskId)?.BlockSize, owners.GetValueOrDefault(v.VdiskId)))
            .ToList();

        var inRepair = engineRows.Where(e => e.State is EngineState.Offline or EngineState.RepairTmpOutage or EngineState.RepairFinalOutage).ToList();
        var repairRows = inRepair.Count == 0 ? [] : RepairRows.Of(inRepair, engineSagas,
            await sagas.ListAsync<VdiskRepairSaga>(ct),
            (await etcd.GetPrefixAsync(EtcdKeys.RepairJobPrefix, ct)).Select(kv => ZeroDiskJson.Deserialize<RepairJobStatus>(kv.Value.ToStringUtf8())).ToList());

        return new StatusReport(clusterRows, engineRows, vdiskRows, repairRows);
    }

    private static EngineRow EngineRowOf(string clusterId, int shard, StorageServerConfig server, IReadOnlyDictionary<string, string> sides, StorageEngineSaga? saga)
    {
        // The cluster config is the truth NBD servers obey; the saga adds since when and which incident, if it agrees.
        var agrees = saga is not null && saga.ClusterId == clusterId && EngineStateNames.ToEngineState(saga.CurrentState) == server.State;
        return new EngineRow(server.Address, clusterId, shard, sides.GetValueOrDefault(clusterId, "unused"), server.State,
            agrees ? saga!.StateEnteredAt : null,
            agrees && server.State != EngineState.Online ? saga!.Incident : null);
    }

    private async Task<IReadOnlyDictionary<string, T>> ValuesBySuffixAsync<T>(string suffix, CancellationToken ct) where T : class
    {
        var values = new Dictionary<string, T>(StringComparer.Ordinal);
        foreach (var kv in await etcd.ScanSuffixAsync(scope, suffix, ct))
        {
            try
            {
                values[EtcdKeys.IdOf(kv.Key.ToStringUtf8(), suffix)!] = ZeroDiskJson.Deserialize<T>(kv.Value.ToStringUtf8());
            }
            catch (System.Text.Json.JsonException)
            {
                // A malformed value shows as unknown (-); the NBD servers reject it too.
            }
        }
        return values;
    }
}
