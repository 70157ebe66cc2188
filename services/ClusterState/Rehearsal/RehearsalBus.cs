using dotnet_etcd;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ZeroDisk.ClusterState.Extensions;
using ZeroDisk.ClusterState.Persistence;
using ZeroDisk.ServiceDefaults.Messaging;

namespace ZeroDisk.ClusterState.Rehearsal;

/// <summary>
/// The three sagas as the service composes them — same registration, definitions, filters and etcd repository — in a
/// private container on MassTransit's in-memory transport, scoped to a <see cref="RehearsalDeployment"/> and fenced
/// (<see cref="RehearsalFence"/>): nothing it publishes reaches the broker, nothing it commits is applied. It shares
/// the service's etcd client and processed-message lease, which the first real report then finds ready.
/// </summary>
internal static class RehearsalBus
{
    public static ServiceProvider Compose(IServiceProvider service, RehearsalDeployment deployment)
    {
        var messaging = service.GetRequiredService<MessagingOptions>();
        var services = new ServiceCollection();
        services.AddSingleton(service.GetRequiredService<ILoggerFactory>());
        services.AddSingleton(typeof(ILogger<>), typeof(Logger<>));
        services.AddSingleton(service.GetRequiredService<EtcdClient>());
        services.AddSingleton(service.GetRequiredService<TimeProvider>());
        services.AddSingleton(service.GetRequiredService<ProcessedMessageLease>());
        services.AddSingleton(service.GetRequiredService<ClusterStateOptions>().WithKeyScope(deployment.Scope));
        services.AddSingleton(new RehearsalFence(deployment.NeverWrittenKey));
        services.AddSagaServices();
        services.AddMassTransit(bus =>
        {
            bus.DisableUsageTelemetry();
            bus.AddClusterStateSagas();
            bus.AddConfigureEndpointsCallback((context, _, endpoint) => endpoint.UseServiceEndpointDefaults(context, messaging));
            bus.UsingInMemory((context, memory) =>
            {
                memory.UseCompactJson();
                memory.ConfigureEndpoints(context);
            });
        });
        return services.BuildServiceProvider();
    }
}
