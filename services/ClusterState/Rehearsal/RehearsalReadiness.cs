using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace ZeroDisk.ClusterState.Rehearsal;

/// <summary>Not ready until the start-up rehearsal has finished, one way or the other (<see cref="StartupRehearsal"/>).</summary>
public sealed class RehearsalReadiness : IHealthCheck
{
    private volatile bool _done;

    public void Done() => _done = true;

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(_done
            ? HealthCheckResult.Healthy("the failure-report path was rehearsed (or the rehearsal gave up)")
            : HealthCheckResult.Unhealthy($"rehearsing a failure report before the first one (at most {StartupRehearsal.Limit.TotalSeconds:0} s)"));
}
