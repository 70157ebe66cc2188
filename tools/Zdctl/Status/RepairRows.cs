using ZeroDisk.Contracts;

namespace ZeroDisk.Zdctl.Status;

/// <summary>
/// The incidents in progress: per engine the saga's affected and completed vdisks, each vdisk's repair saga phase,
/// and the heartbeat of a repair job when one runs for it. Block counts live in the engines (dirty sets, respread
/// cursors), not in etcd; progress is counted in vdisks.
/// </summary>
public static class RepairRows
{
    public static IReadOnlyList<RepairRow> Of(IEnumerable<EngineRow> engines, IReadOnlyDictionary<string, EngineSagaRecord> engineSagas,
        IReadOnlyList<VdiskRepairRecord> repairSagas, IReadOnlyList<RepairJobStatus> jobs)
    {
        var rows = new List<RepairRow>();
        foreach (var engine in engines)
        {
            if (!engineSagas.TryGetValue(engine.Address, out var saga) || saga.Incident is not { } incident)
            {
                rows.Add(new RepairRow(engine.Address, engine.Cluster, engine.State, null, null, null, null, 0, 0, []));
                continue;
            }
            var opened = saga.History.LastOrDefault(h => h.Incident == incident && h.To == EngineSagaRecord.Offline);
            var vdisks = saga.AffectedVdisks.Order(StringComparer.Ordinal).Select(v => new VdiskRepairRow(v,
                    saga.CompletedVdisks.Contains(v) ? VdiskRepairRecord.Completed
                        : repairSagas.FirstOrDefault(r => r.VdiskId == v && r.Incident == incident)?.CurrentState ?? VdiskRepairRecord.Pending,
                    jobs.FirstOrDefault(j => j.VdiskId == v && j.Address == engine.Address && j.Incident == incident)))
                .ToList();
            rows.Add(new RepairRow(engine.Address, engine.Cluster, engine.State, saga.Outage, incident,
                // Sagas written before IncidentTraceId existed still have the trace in the transition that opened the incident.
                saga.IncidentTraceId ?? opened?.TraceId, opened?.At,
                saga.AffectedVdisks.Count(saga.CompletedVdisks.Contains), saga.AffectedVdisks.Count, vdisks));
        }
        return rows;
    }
}
