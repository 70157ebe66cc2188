using Microsoft.Extensions.DependencyInjection;
using ZeroDisk.ServiceDefaults.Health;

namespace ZeroDisk.ClusterState.Rehearsal;

public static class RehearsalExtensions
{
    /// <summary>The start-up rehearsal of the failure-report path, and /health/ready waiting for it.</summary>
    public static IServiceCollection AddStartupRehearsal(this IServiceCollection services)
    {
        services.AddSingleton<RehearsalReadiness>();
        services.AddHostedService<StartupRehearsal>();
        services.AddHealthChecks().AddCheck<RehearsalReadiness>("rehearsal", tags: [HealthExtensions.ReadyTag]);
        return services;
    }
}
