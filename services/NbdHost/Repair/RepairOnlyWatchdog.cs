using dotnet_etcd;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ZeroDisk.Contracts;
using ZeroDisk.NbdHost.Configuration;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.NbdHost.Repair;

/// <summary>
/// A repair-only process whose engine is no longer in a repair state (repaired by someone else, or sent back to
/// offline) has nothing left to do: it exits instead of waiting forever. Its dirty set keeps whatever remains.
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
            await Task.Delay(serve.RereadInterval, ct).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (ct.IsCancellationRequested) return;
            try
            {
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
