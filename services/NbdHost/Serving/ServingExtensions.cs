using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using ZeroDisk.NbdHost.Configuration;
using ZeroDisk.Storage.Failover;
using ZeroDisk.Storage.Ownership;
using ZeroDisk.Storage;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.NbdHost.Serving;

public static class ServingExtensions
{
    /// <summary>
    /// The storage side of <c>nbdhost serve</c>: engines, the vdisk catalog and the etcd watcher that fills it.
    /// A tlog implementation registers its own <see cref="IWriteJournal"/>; without one, nothing is journaled.
    /// </summary>
    public static IHostApplicationBuilder AddVdiskStorage(this IHostApplicationBuilder builder, ServeOptions serve, StorageOptions? storage = null,
        OwnershipOptions? ownership = null)
    {
        storage ??= new StorageOptions();
        ownership ??= new OwnershipOptions();
        ownership.Validate(storage);
        var services = builder.Services;
        services.AddSingleton(serve);
        services.AddSingleton(storage);
        services.AddSingleton(ownership);
        services.TryAddSingleton(_ => EtcdExtensions.CreateClient(serve.EtcdEndpoints));
        services.AddSingleton<EngineIncidents>();
        services.TryAddSingleton<IStderrEvents>(sp => new ConsoleStderrEvents(sp.GetRequiredService<EngineIncidents>()));
        services.TryAddSingleton<IWriteJournal>(NoWriteJournal.Instance);
        services.AddSingleton<StorageEngines>();
        services.AddSingleton<VdiskOwnerClaims>();
        services.AddSingleton<VdiskCatalog>();
        services.AddSingleton<ServerConfigWatcher>();
        services.AddHostedService(sp => sp.GetRequiredService<ServerConfigWatcher>());
        return builder;
    }
}
