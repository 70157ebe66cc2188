using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ZeroDisk.Contracts;
using ZeroDisk.NbdHost.Configuration;
using ZeroDisk.Storage;

namespace ZeroDisk.NbdHost.RepairOnly;

/// <summary>
/// Ends a repair-only process (<c>nbdhost serve --repair</c>) with exit code 0 once its repair reported completion
/// on stderr — the same line a VM's server prints (with the job's incident), so the collector and ClusterState see no difference.
/// </summary>
public sealed class RepairOnlyCompletion(RepairOnlyJob job, EngineIncidents incidents, IHostApplicationLifetime lifetime, ILogger<RepairOnlyCompletion> log)
    : IStderrEvents
{
    private readonly ConsoleStderrEvents _stderr = new(incidents);

    public void Write(StderrEvent ev)
    {
        // The job's own incident (from the RepairVdisk command) is the one its completion belongs to.
        if (ev is RepairCompleteLine { Incident: null } own && own.VdiskId == job.VdiskId && own.Address == job.Address && job.Incident is { } incident)
            ev = own with { Incident = incident };
        _stderr.Write(ev);
        if (ev is RepairCompleteLine done && done.VdiskId == job.VdiskId && done.Address == job.Address)
        {
            log.LogInformation("repair-only job for vdisk {Vdisk} and engine {Address} completed; exiting", job.VdiskId, job.Address);
            lifetime.StopApplication();
        }
    }
}
