using dotnet_etcd;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ZeroDisk.Contracts;
using ZeroDisk.NbdHost.Configuration;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.NbdHost.RepairOnly;

/// <summary>
/// A repair-only process whose engine is no longer in a repair state (repaired by someone else, or sent back to
/// offline) has nothing left to do: it exits instead of waiting forever. Nor may it go on once the vdisk's owner key
/// no longer carries its epoch: its agent died (so nothing renews the lease) or another job took the vdisk over, and
/// a second writer is exactly what the owner key exists to prevent (one writer per vdisk). Its dirty set or respread cursor
/// keeps whatever remains, for the next owner to resume.
/// </summary>
public sealed class RepairOnlyWatchdog(RepairOnlyJob job, ServeOptions serve, EtcdClient etcd, IHostApplicationLifetime lifetime, ILogger<RepairOnlyWatchdog> log)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken ct)
    {
        log.LogInformation("repair-only job: vdisk {Vdisk}, engine {Address}, {Kind} repair, incident {Incident}, owner epoch {Epoch}",
            job.VdiskId, job.Address, job.Kind, job.Incident ?? "-", job.Epoch);
        while (!ct.IsCancellationRequested)
        {
            await Task.Delay(CheckInterval, ct).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (ct.IsCancellationRequested) return;
            try
            {
                if (job.Epoch > 0 && await etcd.GetJsonAsync<VdiskOwner>(EtcdKeys.VdiskOwner(job.VdiskId), ct) is var owner
                    && owner?.Value.Epoch != job.Epoch)
                {
                    log.LogError("vdisk {Vdisk} is no longer owned by this repair job (epoch {Epoch}; owner now {Owner}): stopping the repair",
                        job.VdiskId, job.Epoch, owner is null ? "none" : $"{owner.Value.Server} epoch {owner.Value.Epoch}");
                    Environment.ExitCode = LostOwnershipExitCode;
                    lifetime.StopApplication();
                    return;
                }
                if (await EngineStateAsync(ct) is not (EngineState.RepairTmpOutage or EngineState.RepairFinalOutage) and var state)
                {
                    log.LogWarning("engine {Address} is {State}, no longer in repair: repair-only job for vdisk {Vdisk} ends", job.Address, state?.ToWire() ?? "unknown", job.VdiskId);
                    lifetime.StopApplication();
                    return;
                }
            }
            catch (Exception ex) when (!ct.IsCancellationRequested)
            {
                log.LogWarning(ex, "could not read engine {Address}'s state; the repair goes on", job.Address);
            }
        }
    }

    /// <summary>Exit code of a repair-only process stopped because it lost the vdisk (EX_TEMPFAIL: a new dispatch resumes it).</summary>
    public const int LostOwnershipExitCode = 75;

    /// <summary>Owner checks must be much shorter than a repair lease's TTL, so two jobs barely overlap.</summary>
    private TimeSpan CheckInterval => serve.RereadInterval < TimeSpan.FromSeconds(1) ? serve.RereadInterval : TimeSpan.FromSeconds(1);

    private async Task<EngineState?> EngineStateAsync(CancellationToken ct)
    {
        var nbd = await etcd.GetJsonAsync<VdiskNbdConfig>(EtcdKeys.VdiskNbdConfig(job.VdiskId), ct);
        if (nbd is null) return null;
        foreach (var cluster in new[] { nbd.Value.StorageClusterID, nbd.Value.SlaveStorageClusterID })
        {
            var config = await etcd.GetJsonAsync<StorageClusterConfig>(EtcdKeys.StorageClusterConfig(cluster), ct);
            if (config?.Value.Servers.FirstOrDefault(s => s.Address == job.Address) is { } server) return server.State;
        }
        return null;
    }
}
