using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using ZeroDisk.RepairScheduler.Analysis;
using ZeroDisk.RepairScheduler.Repair;
using ZeroDisk.RepairScheduler.Restarts;
using ZeroDisk.RepairScheduler.Work;
using ZeroDisk.ServiceDefaults.Messaging;
using ZeroDisk.ServiceDefaults.Options;

namespace ZeroDisk.RepairScheduler.Extensions;

public static class SchedulerExtensions
{
    /// <summary>
    /// Outage analysis, repair dispatch and restarts, with their bus consumers. Scheduler instances share one queue
    /// per consumer (competing consumers), so two instances do not do the work twice. Analyses and repair campaigns
    /// are recorded in etcd under a scope named after the endpoint prefix and resumed on start (<see cref="WorkResumer"/>).
    /// </summary>
    public static IHostApplicationBuilder AddRepairScheduler(this IHostApplicationBuilder builder, string? endpointPrefix = null, Action<IBusRegistrationConfigurator>? configureBus = null)
    {
        builder.Services.AddValidatedOptions<SchedulerOptions>(SchedulerOptions.Section);
        builder.Services.AddSingleton(TimeProvider.System);
        var scope = string.IsNullOrEmpty(endpointPrefix) ? "default" : endpointPrefix.TrimEnd('-', '.', '_');
        builder.Services.AddSingleton(sp => new SchedulerWorkStore(sp.GetRequiredService<dotnet_etcd.EtcdClient>(), scope));
        builder.Services.AddSingleton<OutageAnalyzer>();
        builder.Services.AddSingleton<RepairVerifier>();
        builder.Services.AddSingleton<AgentDirectory>();
        builder.Services.AddSingleton<RepairCampaigns>();
        builder.Services.AddSingleton<DelayedRestarts>();
        builder.Services.AddSingleton(sp => new RestartClaims(sp.GetRequiredService<dotnet_etcd.EtcdClient>(), sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<RestartClaims>>(), scope));
        builder.Services.AddSingleton(sp => new CrashLoopThrottle(sp.GetRequiredService<SchedulerOptions>(), sp.GetRequiredService<TimeProvider>()));
        builder.AddMessaging(bus =>
        {
            bus.AddConsumer<EngineStateChangedConsumer>();
            bus.AddConsumer<VdiskRepairCompletedConsumer>();
            bus.AddConsumer<RepairVerificationRequestedConsumer>();
            bus.AddConsumer<ProcessExitedConsumer>();
            configureBus?.Invoke(bus);
        }, endpointPrefix);
        // After the bus: resumed work publishes and sends at once.
        builder.Services.AddHostedService<WorkResumer>();
        return builder;
    }
}
