using System.Collections.Concurrent;
using dotnet_etcd;
using MassTransit;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ZeroDisk.Contracts;
using ZeroDisk.RepairScheduler.Work;

namespace ZeroDisk.RepairScheduler.Repair;

/// <summary>
/// The running <see cref="RepairCampaign"/>s, one per engine in a repair state. A campaign is recorded in etcd
/// before the transition that starts it is acknowledged, and its completions before theirs; a restarted scheduler
/// resumes every recorded campaign inside the trace of the transition that started it (<see cref="WorkResumer"/>).
/// </summary>
public sealed class RepairCampaigns(
    SchedulerWorkStore work,
    EtcdClient etcd,
    AgentDirectory agents,
    ISendEndpointProvider sender,
    IOptions<SchedulerOptions> options,
    TimeProvider time,
    ILoggerFactory loggers) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, (RepairCampaign Campaign, CancellationTokenSource Stop)> _running = new();
    private readonly CancellationTokenSource _disposing = new();
    private readonly ILogger _logger = loggers.CreateLogger<RepairCampaigns>();

    public static RepairKind KindOf(StorageEngineStateChanged repair) => repair.To == EngineState.RepairFinalOutage ? RepairKind.Final : RepairKind.Tmp;

    /// <summary>Records the campaign (a new incident or kind starts with no completions), then runs it.</summary>
    public async Task StartAsync(StorageEngineStateChanged repair, string? traceParent, CancellationToken ct)
    {
        Launch(await work.RecordAsync(WorkKind.Campaign, repair, traceParent, time.GetUtcNow(), ct));
    }

    public void Resume(WorkRecord record) => Launch(record);

    /// <summary>
    /// Stops the engine's campaign when <paramref name="change"/> (a transition out of the repair states) is newer than
    /// the transition that started it. Two transitions of one engine may be consumed at once, the older one last
    /// (fault-check seed 1000: offline and repair-final-outage 1.5 s apart on a loaded machine): the older one must
    /// neither cancel nor delete the newer campaign, or the vdisks nobody serves are never repaired.
    /// </summary>
    public async Task StopAsync(StorageEngineStateChanged change, CancellationToken ct)
    {
        if (_running.TryGetValue(change.Address, out var running) && running.Campaign.StartedAt < change.At
            && _running.TryRemove(KeyValuePair.Create(change.Address, running)))
            running.Stop.Cancel();
        await work.UpdateAsync(WorkKind.Campaign, change.Address, record => record.Change.At < change.At ? null : record, ct);
    }

    /// <summary>Records a completion of the campaign's incident (or one carrying none); returns once it is recorded.</summary>
    public Task MarkCompletedAsync(VdiskRepairCompleted completed, CancellationToken ct) =>
        work.UpdateAsync(WorkKind.Campaign, completed.Address, record =>
            // A completion of an earlier incident, or of the other kind of repair, says nothing about this one.
            (completed.Incident is not null && completed.Incident != record.Change.Incident) || completed.Kind != KindOf(record.Change)
            || record.Completed.Contains(completed.VdiskId)
                ? record
                : record with { Completed = [.. record.Completed, completed.VdiskId] }, ct);

    /// <summary>A verification found these vdisks not repaired: they are dispatched again.</summary>
    public async Task ReopenAsync(string address, string incident, IReadOnlyList<string> vdisks, CancellationToken ct)
    {
        await work.UpdateAsync(WorkKind.Campaign, address, record =>
            record.Change.Incident != incident || !record.Completed.Any(vdisks.Contains)
                ? record
                : record with
                {
                    Completed = record.Completed.Where(v => !vdisks.Contains(v)).ToList(),
                    Dispatched = record.Dispatched.Where(d => !vdisks.Contains(d.Key)).ToDictionary(),
                }, ct);
        if (_running.TryGetValue(address, out var running)) running.Campaign.Reopened(vdisks);
    }

    private void Launch(WorkRecord record)
    {
        var repair = record.Change;
        if (_running.TryGetValue(repair.Address, out var existing) && existing.Campaign.Incident == repair.Incident && existing.Campaign.Kind == KindOf(repair))
            return;
        if (_running.TryRemove(repair.Address, out existing)) existing.Stop.Cancel();
        var campaign = new RepairCampaign(repair, record.TraceParent, work, etcd, agents, sender, options.Value, time, loggers.CreateLogger<RepairCampaign>());
        var cts = CancellationTokenSource.CreateLinkedTokenSource(_disposing.Token);
        _running[repair.Address] = (campaign, cts);
        _logger.LogInformation("Engine {Address} is {State} (incident {Incident}): repairing every affected vdisk nobody serves", repair.Address, repair.To.ToWire(), repair.Incident);
        _ = Task.Run(() => campaign.RunAsync(WorkTrace.Parent(record.TraceParent), cts.Token));
    }

    public ValueTask DisposeAsync()
    {
        _disposing.Cancel();
        return ValueTask.CompletedTask;
    }
}
