using MassTransit;
using ZeroDisk.ClusterState.Admin;
using ZeroDisk.ClusterState.Persistence;
using ZeroDisk.ClusterState.Reconciliation;
using ZeroDisk.ClusterState.Rehearsal;
using ZeroDisk.ClusterState.Setup;
using ZeroDisk.ClusterState.StorageClusters;
using ZeroDisk.ClusterState.StorageEngines;
using ZeroDisk.ClusterState.Topology;
using ZeroDisk.ClusterState.VdiskRepairs;
using ZeroDisk.ServiceDefaults.Etcd;
using ZeroDisk.ServiceDefaults.Messaging;
using ZeroDisk.ServiceDefaults.Options;

namespace ZeroDisk.ClusterState.Extensions;

public static class ClusterStateExtensions
{
    /// <summary>The admin API listens on loopback unless told otherwise (--urls / ASPNETCORE_URLS).</summary>
    public const string DefaultUrl = ZeroDisk.Contracts.Admin.AdminEndpoint.DefaultUrl;

    /// <summary>The three sagas over RabbitMQ with their state in etcd, the reconciler and the admin API's services.</summary>
    public static WebApplicationBuilder AddClusterState(this WebApplicationBuilder builder)
    {
        if (string.IsNullOrEmpty(builder.Configuration["urls"]) && string.IsNullOrEmpty(builder.Configuration["ASPNETCORE_URLS"]))
            builder.WebHost.UseUrls(DefaultUrl);

        builder.Services.AddValidatedOptions<ClusterStateOptions>(ClusterStateOptions.Section);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSagaServices();
        builder.Services.AddSingleton<ProcessedMessageLease>();
        builder.Services.AddSingleton<SagaStore>();
        builder.Services.AddSingleton<VdiskAdmin>();
        builder.Services.AddSingleton<AdminAuthentication>();
        builder.Services.AddSingleton<StorageClusterSetup>();
        builder.Services.AddSingleton<ServerSetup>();
        builder.Services.AddHostedService<Reconciler>();
        builder.Services.AddStartupRehearsal();

        builder.AddEtcd();
        builder.AddMessaging(bus => bus.AddClusterStateSagas(),
            builder.Configuration[$"{ClusterStateOptions.Section}:{nameof(ClusterStateOptions.EndpointPrefix)}"]);
        return builder;
    }

    /// <summary>What the sagas' pipelines use besides etcd, the options, the clock, logging and the processed-message lease.</summary>
    public static IServiceCollection AddSagaServices(this IServiceCollection services)
    {
        services.AddSingleton<ClusterTopology>();
        services.AddSingleton<LastServingSideCheck>();
        services.AddSingleton<EtcdTxnBatcher>();
        services.AddSingleton<ISagaEtcdProjection<StorageEngineSaga>, StorageEngineProjection>();
        services.AddSingleton(s => new IgnoringSagaValues<StorageEngineSaga>(s.GetRequiredService<StorageEngineStateMachine>().IgnoresFailureReports));
        return services;
    }

    /// <summary>The three sagas, persisted in etcd (the service's bus, and the start-up rehearsal's private one).</summary>
    public static void AddClusterStateSagas(this IBusRegistrationConfigurator bus)
    {
        bus.AddSagaStateMachine<StorageEngineStateMachine, StorageEngineSaga, StorageEngineSagaDefinition>().EtcdRepository();
        bus.AddSagaStateMachine<StorageClusterStateMachine, StorageClusterSaga, StorageClusterSagaDefinition>().EtcdRepository();
        bus.AddSagaStateMachine<VdiskRepairStateMachine, VdiskRepairSaga, VdiskRepairSagaDefinition>().EtcdRepository();
    }
}
