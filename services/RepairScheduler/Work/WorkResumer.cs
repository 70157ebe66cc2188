using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ZeroDisk.RepairScheduler.Analysis;
using ZeroDisk.RepairScheduler.Repair;

namespace ZeroDisk.RepairScheduler.Work;

/// <summary>
/// On start, resumes every analysis and repair campaign recorded in etcd whose engine is still in the state that
/// started it (the rest is stale and deleted). Each continues under the trace context it was recorded with, so an
/// incident stays one trace across a scheduler crash. Registered after the bus, so the bus is up first.
/// </summary>
public sealed class WorkResumer(SchedulerWorkStore work, OutageAnalyzer analyzer, RepairCampaigns campaigns, ILogger<WorkResumer> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            foreach (var kind in new[] { WorkKind.Analysis, WorkKind.Campaign })
            foreach (var record in await work.ListAsync(kind, stoppingToken))
            {
                var change = record.Change;
                if (!await work.IsCurrentAsync(change, stoppingToken))
                {
                    logger.LogInformation("Recorded {Kind} of engine {Address} (incident {Incident}) is stale: the engine left {State}", kind, change.Address, change.Incident, change.To);
                    await work.DeleteAsync(kind, change.Address, change.Incident, stoppingToken);
                    continue;
                }
                logger.LogWarning("Resuming the {Kind} of engine {Address} (incident {Incident}, started {Started:O}, trace {Trace})",
                    kind, change.Address, change.Incident, record.StartedAt, record.TraceParent ?? "none");
                if (kind == WorkKind.Analysis) analyzer.Resume(record);
                else campaigns.Resume(record);
            }
        }
        catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
        {
            // Not fatal: the records stay in etcd and the next start resumes them.
            logger.LogError(ex, "Resuming recorded work failed");
        }
    }
}
