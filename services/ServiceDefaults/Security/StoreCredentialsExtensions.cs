using Microsoft.Extensions.Hosting;
using ZeroDisk.ServiceDefaults.Engines;
using ZeroDisk.ServiceDefaults.Etcd;
using ZeroDisk.ServiceDefaults.Options;

namespace ZeroDisk.ServiceDefaults.Security;

public static class StoreCredentialsExtensions
{
    /// <summary>
    /// The engines' and etcd's credentials (sections <c>Engines</c> and <c>Etcd</c>) from the host's configuration,
    /// checked when it starts (a missing password file stops the service with <c>invalid configuration: …</c>), and
    /// made this process's: every engine connection (<see cref="EngineConnection"/>) and etcd client
    /// (<see cref="EtcdExtensions.CreateClient"/>, <see cref="EtcdChannel"/>) uses them.
    /// </summary>
    public static IHostApplicationBuilder AddStoreCredentials(this IHostApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<EngineCredentials>(EngineCredentials.Section);
        builder.Services.AddValidatedOptions<EtcdCredentials>(EtcdCredentials.Section);
        ProcessCredentials.Engines = EngineCredentials.From(builder.Configuration);
        ProcessCredentials.Etcd = EtcdCredentials.From(builder.Configuration);
        return builder;
    }
}
