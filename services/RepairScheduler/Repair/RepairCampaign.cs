using System.Collections.Concurrent;
using System.Diagnostics;
using dotnet_etcd;
using MassTransit;
using Microsoft.Extensions.Logging;
using ZeroDisk.Contracts;
using ZeroDisk.RepairScheduler.Work;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.RepairScheduler.Repair;

/// <summary>
/// Seed step 4 for the vdisks nobody serves: while an engine is in a repair state, every affected vdisk that no
/// process owns (no <c>&lt;vdiskID&gt;:vdisk:owner</c> key: neither a VM's NBD server nor a repair job) and that has
/// not reported completion gets a <see cref="RepairVdisk"/> on the least loaded agent. A job whose agent dies loses
/// its lease, so its owner key vanishes and the vdisk is dispatched again; the job resumes from the dirty set.
/// Which vdisks completed lives in the campaign's etcd record (<see cref="SchedulerWorkStore"/>), read at every
/// round: a completion or a failed verification recorded by any instance counts, and a restart loses nothing.
/// </summary>
public sealed class RepairCampaign(
    StorageEngineStateChanged repair,
    string? traceParent,
    SchedulerWorkStore work,
    EtcdClient etcd,
    AgentDirectory agents,
    ISendEndpointProvider sender,
    SchedulerOptions options,
    TimeProvider time,
    ILogger logger)
{
    private readonly ConcurrentDictionary<string, DateTimeOffset> _dispatchedAt = new(StringComparer.Ordinal);

    public string Address => repair.Address;
    public string Incident => repair.Incident;
    public RepairKind Kind => repair.To == EngineState.RepairFinalOutage ? RepairKind.Final : RepairKind.Tmp;
    /// <summary>When the transition that started this campaign happened (ClusterState's clock).</summary>
    public DateTimeOffset StartedAt => repair.At;

    /// <summary>A failed verification reopened these vdisks: dispatch them at the next round, without waiting out the timeout.</summary>
    public void Reopened(IEnumerable<string> vdisks)
    {
        foreach (var vdisk in vdisks) _dispatchedAt.TryRemove(vdisk, out _);
    }

    public async Task RunAsync(ActivityContext parent, CancellationToken ct)
    {
        using var activity = SchedulerTelemetry.Source.StartActivity("repair campaign", ActivityKind.Internal, parent);
        activity?.SetTag("zerodisk.engine", Address).SetTag("zerodisk.incident", Incident).SetTag("zerodisk.repair", Kind.ToWire());
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await DispatchRoundAsync(ct);
            }
            catch (Exception ex) when (!ct.IsCancellationRequested)
            {
                logger.LogError(ex, "Repair round for engine {Address} failed; retrying", Address);
            }
            await Task.Delay(options.RepairScanInterval, time, ct).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>One pass over the affected vdisks; returns the vdisks dispatched in it.</summary>
    public async Task<IReadOnlyList<string>> DispatchRoundAsync(CancellationToken ct)
    {
        var record = await work.GetAsync(WorkKind.Campaign, Address, ct);
        var dispatched = new List<string>();
        if (record is null && await work.IsCurrentAsync(repair, ct))
        {
            // The record is gone but etcd still has the engine in this repair state: whatever deleted it (a stale
            // transition, an operator), nobody else repairs the vdisks nobody serves. Recorded again, not idle forever.
            record = await work.RecordAsync(WorkKind.Campaign, repair, traceParent, time.GetUtcNow(), ct);
            logger.LogWarning("The record of the {Kind} repair campaign of engine {Address} (incident {Incident}) was gone while the engine is still {State}: recorded again",
                Kind.ToWire(), Address, Incident, repair.To.ToWire());
        }
        if (record is null || record.Change.Incident != Incident) return dispatched; // stopped meanwhile (by any instance)
        var completed = record.Completed.ToHashSet(StringComparer.Ordinal);
        foreach (var (vdisk, at) in record.Dispatched) _dispatchedAt.TryAdd(vdisk, at); // dispatched before a restart
        var affected = await etcd.VdisksInClusterAsync(repair.ClusterId, ct: ct);
        var pending = affected.Where(v => !completed.Contains(v)).ToList();
        if (pending.Count == 0) return dispatched;

        var now = time.GetUtcNow();
        var assigned = new Dictionary<string, int>(StringComparer.Ordinal);
        IReadOnlyList<AgentRegistration>? registered = null;
        foreach (var vdisk in pending)
        {
            var owner = (await etcd.GetAsync(EtcdKeys.VdiskOwner(vdisk), cancellationToken: ct)).Kvs.Count > 0;
            if (owner) continue; // a running NBD server or a live repair job takes care of it
            if (_dispatchedAt.TryGetValue(vdisk, out var at) && now - at < options.DispatchTimeout) continue;

            registered ??= await agents.ListAsync(ct);
            var agent = AgentDirectory.PickLeastLoaded(registered, assigned);
            if (agent is null)
            {
                logger.LogWarning("Repair of vdisk {Vdisk} for engine {Address} waits: no node agent is registered", vdisk, Address);
                break;
            }
            var endpoint = await sender.GetSendEndpoint(AgentQueues.Address(agent.Node));
            await endpoint.Send(new RepairVdisk { Node = agent.Node, VdiskId = vdisk, Address = Address, Kind = Kind, Incident = Incident }, ct);
            assigned[agent.Node] = assigned.GetValueOrDefault(agent.Node) + 1;
            var again = _dispatchedAt.ContainsKey(vdisk);
            _dispatchedAt[vdisk] = now;
            dispatched.Add(vdisk);
            SchedulerTelemetry.RepairsDispatched.Add(1);
            logger.LogInformation("{Verb} {Kind} repair of vdisk {Vdisk} for engine {Address} to agent {Node} (load {Load:F2})",
                again ? "Re-dispatched" : "Dispatched", Kind.ToWire(), vdisk, Address, agent.Node, agent.Load);
        }
        if (dispatched.Count > 0)
            await work.UpdateAsync(WorkKind.Campaign, Address, r => r.Change.Incident != Incident ? r : r with
            {
                Dispatched = r.Dispatched.Where(d => !dispatched.Contains(d.Key)).Concat(dispatched.Select(v => KeyValuePair.Create(v, now))).ToDictionary(),
            }, ct);
        return dispatched;
    }
}
