using dotnet_etcd;
using ZeroDisk.ClusterState.Persistence;
using ZeroDisk.ClusterState.StorageEngines;
using ZeroDisk.ClusterState.Topology;
using ZeroDisk.ClusterState.VdiskRepairs;
using ZeroDisk.Contracts;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.ClusterState.StatusPage;

/// <summary>
/// Builds the status page's model from etcd: the clusters of this instance's key scope with their engines' states
/// (the cluster configs, which NBD servers obey), joined with the engine sagas (incident, trace, history) and the
/// vdisk repair sagas. One model is shared by every viewer for <see cref="MaxAge"/>, so ten open pages cost etcd
/// what one does.
/// </summary>
public sealed class StatusSnapshots(ClusterTopology topology, SagaStore sagas, EtcdClient etcd, TimeProvider time)
{
    public static readonly TimeSpan MaxAge = TimeSpan.FromMilliseconds(750);
    private const int IncidentsShown = 20;

    private readonly SemaphoreSlim _gate = new(1, 1);
    private StatusModel? _last;

    public async Task<StatusModel> CurrentAsync(CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        try
        {
            if (_last is null || time.GetUtcNow() - _last.GeneratedAt >= MaxAge) _last = await BuildAsync(ct);
            return _last;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<StatusModel> BuildAsync(CancellationToken ct)
    {
        var clusters = (await topology.ClustersAsync(ct)).OrderBy(c => c.ClusterId, StringComparer.Ordinal).ToList();
        var clusterOf = clusters.SelectMany(c => c.Config.Servers.Select(s => (s.Address, c.ClusterId))).GroupBy(e => e.Address)
            .ToDictionary(g => g.Key, g => g.First().ClusterId);
        // Sagas are listed across key scopes: keep those of this scope's engines.
        var engines = (await sagas.ListAsync<StorageEngineSaga>(ct)).Where(e => clusterOf.ContainsKey(e.Address)).ToDictionary(e => e.Address);
        var repairSagas = (await sagas.ListAsync<VdiskRepairSaga>(ct)).Where(r => engines.ContainsKey(r.Address)).ToList();
        var statuses = new Dictionary<string, string>();
        foreach (var cluster in clusters)
            statuses[cluster.ClusterId] = (await etcd.GetAsync(EtcdKeys.ClusterStatus(cluster.ClusterId), ct))?.Value.ToStringUtf8() ?? ClusterHealth.Derive(cluster.Config).ToWire();

        var clusterViews = clusters.Select(c => new ClusterView(c.ClusterId, statuses[c.ClusterId], c.Config.Servers.Select((server, shard) =>
        {
            var saga = engines.GetValueOrDefault(server.Address);
            var inIncident = server.State != EngineState.Online && saga is not null;
            return new EngineView(server.Address, shard, server.State.ToWire(), inIncident ? saga!.Incident : null, inIncident ? saga!.IncidentTraceId : null,
                saga?.StateEnteredAt, saga?.ShardUnavailable);
        }).ToList())).ToList();

        var now = time.GetUtcNow();
        var repairs = engines.Values
            .Where(e => e.CurrentState is EngineStateNames.RepairingTmpOutage or EngineStateNames.RepairingFinalOutage && e.Incident is not null)
            .OrderBy(e => e.Address, StringComparer.Ordinal)
            .Select(e => Repair(e, clusterOf[e.Address], repairSagas, now)).ToList();

        var incidents = engines.Values
            .SelectMany(e => e.History.Where(h => h.Incident is not null).GroupBy(h => h.Incident!).Select(g => (Engine: e, Incident: g.Key, Timeline: g.ToList())))
            .OrderByDescending(i => i.Timeline[0].At).Take(IncidentsShown)
            .Select(i =>
            {
                var open = i.Engine.Incident == i.Incident && i.Engine.CurrentState is not (EngineStateNames.Online or EngineStateNames.Rip);
                return new IncidentView(i.Incident, i.Engine.Address, clusterOf[i.Engine.Address],
                    i.Engine.Incident == i.Incident ? i.Engine.IncidentTraceId ?? i.Timeline[0].TraceId : i.Timeline[0].TraceId, open,
                    EngineStateNames.ToEngineState(i.Timeline[^1].To).ToWire(),
                    i.Timeline.Select(h => new TimelineEntry(h.At, Wire(h.From), Wire(h.To), h.Reason, h.TraceId)).ToList());
            }).ToList();

        return new StatusModel(now, clusterViews, repairs, incidents);
    }

    private static RepairView Repair(StorageEngineSaga engine, string cluster, IReadOnlyList<VdiskRepairSaga> repairSagas, DateTimeOffset now)
    {
        var completed = engine.CompletedVdisks.Count(engine.AffectedVdisks.Contains);
        var affected = engine.AffectedVdisks.Count;
        var elapsed = (now - engine.StateEnteredAt).TotalSeconds;
        double? eta = completed > 0 && completed < affected ? Math.Round(elapsed / completed * (affected - completed)) : completed == affected ? 0 : null;
        var states = repairSagas.Where(r => r.Address == engine.Address && r.Incident == engine.Incident).ToDictionary(r => r.VdiskId, r => r.CurrentState);
        var kind = engine.CurrentState == EngineStateNames.RepairingFinalOutage ? RepairKind.Final : RepairKind.Tmp;
        return new RepairView(engine.Address, cluster, engine.Incident!, kind.ToWire(), engine.IncidentTraceId, engine.StateEnteredAt, completed, affected,
            affected == 0 ? 100 : Math.Round(100.0 * completed / affected, 1), eta,
            engine.AffectedVdisks.Order(StringComparer.Ordinal)
                .Select(v => new VdiskRepairView(v, engine.CompletedVdisks.Contains(v) ? "Completed" : states.GetValueOrDefault(v, "Pending"))).ToList());
    }

    /// <summary>A saga state name as the engine state it means in etcd ("Initial" is an engine nobody reported: online).</summary>
    private static string Wire(string sagaState) => EngineStateNames.ToEngineState(sagaState).ToWire();
}
