using MassTransit;
using Microsoft.Extensions.Logging;
using ZeroDisk.Contracts;
using ZeroDisk.RepairScheduler.Repair;
using ZeroDisk.RepairScheduler.Work;

namespace ZeroDisk.RepairScheduler.Analysis;

/// <summary>
/// Reacts to ClusterState's engine transitions: offline starts the analysis; a repair state starts a repair
/// campaign for the vdisks nobody serves; any other state ends what no longer applies. The message is acknowledged
/// only after the work is recorded in etcd (work taken from the bus survives a crash), with this message's trace context, so a
/// restarted scheduler resumes it inside the incident's trace. A transition etcd has moved past is stale and ignored,
/// and so is one older than the transition the engine's recorded campaign came from (two may be consumed at once).
/// </summary>
public sealed class EngineStateChangedConsumer(OutageAnalyzer analyzer, RepairCampaigns campaigns, SchedulerWorkStore work,
    ILogger<EngineStateChangedConsumer> logger) : IConsumer<StorageEngineStateChanged>
{
    public async Task Consume(ConsumeContext<StorageEngineStateChanged> context)
    {
        var change = context.Message;
        var ct = context.CancellationToken;
        if (!await work.IsCurrentAsync(change, ct))
        {
            logger.LogInformation("Engine {Address} is no longer {State} in etcd (incident {Incident}): transition ignored", change.Address, change.To.ToWire(), change.Incident);
            return;
        }
        if (await work.GetAsync(WorkKind.Campaign, change.Address, ct) is { } campaign && campaign.Change.At > change.At)
        {
            logger.LogInformation("Engine {Address}: transition to {State} (incident {Incident}) is older than the {Repair} it is in since {Since:O}: ignored",
                change.Address, change.To.ToWire(), change.Incident, campaign.Change.To.ToWire(), campaign.Change.At);
            return;
        }
        var trace = WorkTrace.Capture();
        if (change.To == EngineState.Offline) await analyzer.StartAsync(change, trace, ct);
        else await analyzer.StopAsync(change.Address, ct);

        if (change.To is EngineState.RepairTmpOutage or EngineState.RepairFinalOutage) await campaigns.StartAsync(change, trace, ct);
        else await campaigns.StopAsync(change, ct); // only a campaign an older transition started (they may race)
    }
}
