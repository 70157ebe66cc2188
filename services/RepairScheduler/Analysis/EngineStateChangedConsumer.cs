using MassTransit;
using Microsoft.Extensions.Logging;
using ZeroDisk.Contracts;
using ZeroDisk.RepairScheduler.Repair;
using ZeroDisk.RepairScheduler.Work;

namespace ZeroDisk.RepairScheduler.Analysis;

/// <summary>
/// Reacts to ClusterState's engine transitions: offline starts the analysis; a repair state starts a repair
/// campaign for the vdisks nobody serves; any other state ends what no longer applies. The message is acknowledged
/// only after the work is recorded in etcd (DESIGN §3 invariant 11), with this message's trace context, so a
/// restarted scheduler resumes it inside the incident's trace. A transition etcd has moved past is stale and ignored.
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
        var trace = WorkTrace.Capture();
        if (change.To == EngineState.Offline) await analyzer.StartAsync(change, trace, ct);
        else await analyzer.StopAsync(change.Address, ct);

        if (change.To is EngineState.RepairTmpOutage or EngineState.RepairFinalOutage) await campaigns.StartAsync(change, trace, ct);
        else await campaigns.StopAsync(change.Address, ct);
    }
}
