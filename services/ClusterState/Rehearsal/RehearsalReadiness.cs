using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace ZeroDisk.ClusterState.Rehearsal;

/// <summary>How the start-up rehearsal ended: its private scope and engine, and why it gave up if it did.</summary>
public sealed record RehearsalOutcome(bool Rehearsed, TimeSpan Took, string? Scope, string? Engine, string? WhyNot);

/// <summary>Not ready until the start-up rehearsal has finished, one way or the other (<see cref="StartupRehearsal"/>).</summary>
public sealed class RehearsalReadiness : IHealthCheck
{
    private volatile RehearsalOutcome? _outcome;

    /// <summary>Null while the rehearsal runs.</summary>
    public RehearsalOutcome? Outcome => _outcome;

    public void Done(RehearsalOutcome outcome) => _outcome = outcome;

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(_outcome switch
        {
            null => HealthCheckResult.Unhealthy($"rehearsing a failure report before the first one (at most {StartupRehearsal.Limit.TotalSeconds:0} s)"),
            { Rehearsed: true } done => HealthCheckResult.Healthy($"a failure report was rehearsed at start-up in {done.Took.TotalMilliseconds:0} ms"),
            var gaveUp => HealthCheckResult.Healthy($"the start-up rehearsal gave up ({gaveUp.WhyNot}); the first incident runs cold"),
        });
}
