using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using ZeroDisk.NbdHost.Configuration;
using ZeroDisk.Storage.Failover;
using ZeroDisk.Storage.Ownership;
using ZeroDisk.Storage;
using ZeroDisk.ServiceDefaults.Etcd;
using ZeroDisk.ServiceDefaults.Options;

namespace ZeroDisk.NbdHost.Serving;

public static class ServingExtensions
{
    /// <summary>
    /// The storage side of <c>nbdhost serve</c>: engines, the vdisk catalog and the etcd watcher that fills it.
    /// A tlog implementation registers its own <see cref="IWriteJournal"/>; without one, nothing is journaled.
    /// </summary>
    /// <remarks>Timeouts and sizes come from the sections <c>Storage</c> and <c>Ownership</c> (e.g. <c>Storage__CommandTimeout=00:00:00.750</c>,
    /// <c>Ownership__LeaseTtl=00:00:05</c>) and are checked when the host starts.</remarks>
    public static IHostApplicationBuilder AddVdiskStorage(this IHostApplicationBuilder builder, ServeOptions serve)
    {
        var services = builder.Services;
        services.AddValidatedOptions<StorageOptions>(StorageOptions.Section);
        services.AddValidatedOptions<OwnershipOptions>(OwnershipOptions.Section);
        services.AddSingleton<IValidateOptions<OwnershipOptions>, OwnershipWithinStorageTimeouts>();
        services.AddSingleton(serve);
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

/// <summary>The owner lease's safety margin must cover the storage command timeout (one writer per vdisk).</summary>
internal sealed class OwnershipWithinStorageTimeouts(IOptions<StorageOptions> storage) : IValidateOptions<OwnershipOptions>
{
    public ValidateOptionsResult Validate(string? name, OwnershipOptions options) =>
        options.Problems(storage.Value).ToList() is { Count: > 0 } problems ? ValidateOptionsResult.Fail(problems) : ValidateOptionsResult.Success;
}
