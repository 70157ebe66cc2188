using dotnet_etcd;
using ZeroDisk.Contracts;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.Zdctl.Status;

/// <summary>
/// Reads the status straight from etcd (cluster configs and status, vdisk configs and owners, the sagas, the repair
/// jobs' heartbeat keys) through the read models in contracts, so it works while ClusterState is down.
/// </summary>
public sealed class StatusReader(EtcdClient etcd, string scope)
{
    public async Task<StatusReport> ReadAsync(CancellationToken ct)
    {
        var clusters = (await ValuesBySuffixAsync<StorageClusterConfig>(EtcdKeys.StorageClusterConfigSuffix, ct)).Select(c => (ClusterId: c.Key, Config: c.Value)).ToList();
        var vdisks = await etcd.AllVdiskNbdConfigsAsync(scope, ct);
        var engineSagas = (await SagasAsync<EngineSagaRecord>(EngineSagaRecord.SagaType, ct)).GroupBy(s => s.Address).ToDictionary(g => g.Key, g => g.First());

        var clusterRows = new List<ClusterRow>();
        foreach (var cluster in clusters.OrderBy(c => c.ClusterId, StringComparer.Ordinal))
        {
            var status = await etcd.GetAsync(EtcdKeys.ClusterStatus(cluster.ClusterId), ct);
            clusterRows.Add(new ClusterRow(cluster.ClusterId, status?.Value.ToStringUtf8() ?? cluster.Config.DerivedStatus().ToWire(), cluster.Config.Servers.Count));
        }

        var sides = ClusterSides.Of(vdisks.Values);
        var engineRows = clusters.OrderBy(c => c.ClusterId, StringComparer.Ordinal)
            .SelectMany(c => c.Config.Servers.Select((server, shard) => EngineRowOf(c.ClusterId, shard, server, sides, engineSagas.GetValueOrDefault(server.Address))))
            .ToList();

        var statics = await ValuesBySuffixAsync<VdiskStaticConfig>(EtcdKeys.VdiskStaticConfigSuffix, ct);
        var owners = await ValuesBySuffixAsync<VdiskOwner>(EtcdKeys.VdiskOwnerSuffix, ct);
        var vdiskRows = vdisks.OrderBy(v => v.Key, StringComparer.Ordinal)
            .Select(v => new VdiskRow(v.Key, v.Value.StorageClusterID, v.Value.SlaveStorageClusterID,
                statics.GetValueOrDefault(v.Key)?.Size, statics.GetValueOrDefault(v.Key)?.BlockSize, owners.GetValueOrDefault(v.Key)))
            .ToList();

        var inRepair = engineRows.Where(e => e.State is EngineState.Offline or EngineState.RepairTmpOutage or EngineState.RepairFinalOutage).ToList();
        var repairRows = inRepair.Count == 0 ? [] : RepairRows.Of(inRepair, engineSagas,
            await SagasAsync<VdiskRepairRecord>(VdiskRepairRecord.SagaType, ct),
            (await etcd.GetPrefixAsync(EtcdKeys.RepairJobPrefix, ct)).Select(kv => ZeroDiskJson.Deserialize<RepairJobStatus>(kv.Value.ToStringUtf8())).ToList());

        return new StatusReport(clusterRows, engineRows, vdiskRows, repairRows);
    }

    private static EngineRow EngineRowOf(string clusterId, int shard, StorageServerConfig server, IReadOnlyDictionary<string, string> sides, EngineSagaRecord? saga)
    {
        // The cluster config is the truth NBD servers obey; the saga adds since when and which incident, if it agrees.
        var agrees = saga is not null && saga.ClusterId == clusterId && EngineSagaRecord.ToEngineState(saga.CurrentState) == server.State;
        return new EngineRow(server.Address, clusterId, shard, sides.GetValueOrDefault(clusterId, "unused"), server.State,
            agrees ? saga!.StateEnteredAt : null,
            agrees && server.State != EngineState.Online ? saga!.Incident : null);
    }

    /// <summary>Every saga record of one type (sagas are not scoped: an engine or a vdisk names itself).</summary>
    private async Task<IReadOnlyList<T>> SagasAsync<T>(string sagaType, CancellationToken ct) =>
        (await etcd.GetPrefixAsync(EtcdKeys.SagaPrefix(sagaType), ct)).Select(kv => ZeroDiskJson.Deserialize<T>(kv.Value.ToStringUtf8())).ToList();

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
