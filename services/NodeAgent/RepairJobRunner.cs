using ZeroDisk.Storage.Ownership;
using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using ZeroDisk.Contracts;
using ZeroDisk.ServiceDefaults.Telemetry;

namespace ZeroDisk.NodeAgent;

/// <summary>
/// Runs a repair job for a vdisk nobody serves: claims the vdisk's owner key with kind repair under a lease (so no
/// VM starts on it and no second job runs), heartbeats the job into <c>zerodisk/repairs/&lt;vdisk&gt;</c> under the
/// same lease, runs the repair-only NBD server as a supervised child, and releases the vdisk when it exits. If this
/// agent dies the lease expires after its TTL and a new dispatch (on any node) takes the job over.
/// </summary>
public sealed class RepairJobRunner(AgentOptions options, ChildSupervisor supervisor, ChildCommands commands, EtcdGrpc etcd,
    ILogger<RepairJobRunner> logger)
{
    private static readonly ActivitySource Tracing = ZeroDiskTelemetry.CreateSource("NbdHost.Agent");
    private readonly ConcurrentDictionary<string, Task> _jobs = new(StringComparer.Ordinal);

    public Task StartAsync(RepairVdisk job, CancellationToken ct)
    {
        var run = _jobs.GetOrAdd(job.VdiskId, _ => Task.Run(() => RunAsync(job, ct), ct));
        _ = run.ContinueWith(_ => _jobs.TryRemove(new KeyValuePair<string, Task>(job.VdiskId, run)), TaskScheduler.Default);
        return run;
    }

    private async Task RunAsync(RepairVdisk job, CancellationToken ct)
    {
        // A child of the consumer's span (the scheduler's dispatch): the job is part of the incident's trace.
        using var activity = Tracing.StartActivity("repair job");
        activity?.SetTag("zerodisk.vdisk", job.VdiskId);
        activity?.SetTag("zerodisk.engine", job.Address);
        activity?.SetTag("zerodisk.incident", job.Incident);
        activity?.SetTag("zerodisk.node", options.Node);
        try
        {
            var (claim, holder) = await VdiskOwnership.TryClaimAsync(etcd, job.VdiskId, options.RepairOwnerName, VdiskOwnerKind.Repair,
                options.RepairLeaseTtl, logger, ct);
            if (claim is null)
            {
                logger.LogWarning("repair of {Vdisk} not started on {Node}: the vdisk is owned by {Owner} ({Kind}, epoch {Epoch})",
                    job.VdiskId, options.Node, holder?.Server, holder?.Kind.ToWire(), holder?.Epoch);
                return;
            }
            await using (claim)
                await RepairAsync(job, claim, ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "repair job of {Vdisk} failed", job.VdiskId);
        }
    }

    private async Task RepairAsync(RepairVdisk job, VdiskOwnerClaim claim, CancellationToken ct)
    {
        var started = DateTimeOffset.UtcNow;
        RepairJobStatus Status(string state) => new(options.Node, job.VdiskId, job.Address, job.Kind, job.Incident, claim.Owner.Epoch,
            state, started, DateTimeOffset.UtcNow);
        await etcd.PutAsync(EtcdKeys.RepairJob(job.VdiskId), Status("running"), claim.Lease.Id, ct);
        logger.LogInformation("repair of {Vdisk} ({Kind} outage of {Address}, incident {Incident}) claimed on {Node} with epoch {Epoch}",
            job.VdiskId, job.Kind.ToWire(), job.Address, job.Incident, options.Node, claim.Owner.Epoch);

        using var jobDone = CancellationTokenSource.CreateLinkedTokenSource(ct, claim.Lease.Lost);
        var heartbeat = HeartbeatAsync(job, claim, Status, jobDone.Token);
        var spec = commands.Repair(job, claim.Owner.Epoch);
        await supervisor.StartAsync(spec, ct);
        var exit = supervisor.ExitOf(spec.Role, spec.Id);
        await Task.WhenAny(exit, Task.Delay(Timeout.Infinite, jobDone.Token));
        if (!exit.IsCompleted)
        {
            // The lease is gone (etcd unreachable for a TTL): another node may own the vdisk now. Stop our repair;
            // the fence epoch keeps a straggler write of it out of the engines anyway.
            logger.LogError("repair of {Vdisk}: owner lease lost, stopping the repair server", job.VdiskId);
            await supervisor.StopAsync(spec.Role, spec.Id, TimeSpan.FromSeconds(10));
        }
        await jobDone.CancelAsync();
        await heartbeat.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        var result = await exit;
        if (result is { ExitCode: 0 })
            logger.LogInformation("repair of {Vdisk} done; releasing the vdisk", job.VdiskId);
        else
            logger.LogError("repair server of {Vdisk} exited with {Code}; releasing the vdisk for a new dispatch", job.VdiskId, result?.ExitCode);
    }

    private async Task HeartbeatAsync(RepairVdisk job, VdiskOwnerClaim claim, Func<string, RepairJobStatus> status, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            await Task.Delay(claim.Lease.Ttl / 3, ct);
            await etcd.PutAsync(EtcdKeys.RepairJob(job.VdiskId), status("running"), claim.Lease.Id, ct);
        }
    }
}
