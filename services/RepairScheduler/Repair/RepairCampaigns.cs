using System.Collections.Concurrent;
using System.Diagnostics;
using dotnet_etcd;
using MassTransit;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ZeroDisk.Contracts;

namespace ZeroDisk.RepairScheduler.Repair;

/// <summary>The running <see cref="RepairCampaign"/>s, one per engine in a repair state.</summary>
public sealed class RepairCampaigns(
    EtcdClient etcd,
    AgentDirectory agents,
    ISendEndpointProvider sender,
    IOptions<SchedulerOptions> options,
    TimeProvider time,
    ILoggerFactory loggers) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, (RepairCampaign Campaign, CancellationTokenSource Stop)> _running = new();
    private readonly ILogger _logger = loggers.CreateLogger<RepairCampaigns>();

    public void Start(StorageEngineStateChanged repair, ActivityContext parent)
    {
        if (_running.TryGetValue(repair.Address, out var existing) && existing.Campaign.Incident == repair.Incident
            && existing.Campaign.Kind == (repair.To == EngineState.RepairFinalOutage ? RepairKind.Final : RepairKind.Tmp))
            return;
        Stop(repair.Address);
        var campaign = new RepairCampaign(repair, etcd, agents, sender, options.Value, time, loggers.CreateLogger<RepairCampaign>());
        var cts = new CancellationTokenSource();
        _running[repair.Address] = (campaign, cts);
        _logger.LogInformation("Engine {Address} is {State}: repairing every affected vdisk nobody serves", repair.Address, repair.To.ToWire());
        _ = Task.Run(() => campaign.RunAsync(parent, cts.Token));
    }

    public void Stop(string address)
    {
        if (_running.TryRemove(address, out var running)) running.Stop.Cancel();
    }

    public void MarkCompleted(VdiskRepairCompleted completed)
    {
        if (!_running.TryGetValue(completed.Address, out var running)) return;
        // A completion of an earlier incident says nothing about this one.
        if (completed.Incident is not null && completed.Incident != running.Campaign.Incident) return;
        running.Campaign.MarkCompleted(completed.VdiskId);
    }

    public ValueTask DisposeAsync()
    {
        foreach (var address in _running.Keys) Stop(address);
        return ValueTask.CompletedTask;
    }
}
