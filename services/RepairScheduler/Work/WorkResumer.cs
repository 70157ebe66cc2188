using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ZeroDisk.RepairScheduler.Analysis;
using ZeroDisk.RepairScheduler.Repair;
using ZeroDisk.RepairScheduler.Restarts;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.RepairScheduler.Work;

/// <summary>
/// On start, resumes every analysis, repair campaign and deferred restart recorded in etcd whose engine is still in the state that
/// started it (the rest is stale and deleted). Each continues under the trace context it was recorded with, so an
/// incident stays one trace across a scheduler crash. Registered after the bus, so the bus is up first. A scheduler
/// that starts while etcd is unavailable (the fault checker kills both) waits for it like its consumers do, and
/// resumes then; resuming is idempotent, so a pass cut short by etcd is simply run again.
/// </summary>
public sealed class WorkResumer(SchedulerWorkStore work, OutageAnalyzer analyzer, RepairCampaigns campaigns, DelayedRestarts restarts, ILogger<WorkResumer> logger) : BackgroundService
{
    private static readonly TimeSpan EtcdWait = TimeSpan.FromSeconds(2);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!await TryResumeAsync(stoppingToken)) await Task.Delay(EtcdWait, stoppingToken);
    }

    /// <summary>False when etcd was unavailable (try again); true when done, or failed for another reason (logged).</summary>
    private async Task<bool> TryResumeAsync(CancellationToken stoppingToken)
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
            await restarts.ResumeAsync(stoppingToken);
            return true;
        }
        catch (Exception ex) when (!stoppingToken.IsCancellationRequested && EtcdUnavailableRetry.IsEtcdUnavailable(ex))
        {
            logger.LogWarning("Resuming recorded work waits for etcd: {Error}", ex.Message);
            return false;
        }
        catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
        {
            // Not fatal: the records stay in etcd and the next start resumes them.
            logger.LogError(ex, "Resuming recorded work failed");
            return true;
        }
    }
}
