using Microsoft.Extensions.Configuration;
using ZeroDisk.ServiceDefaults.Engines;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.ServiceDefaults.Security;

/// <summary>
/// This process's credentials for the engines and etcd: what its host bound
/// (<see cref="StoreCredentialsExtensions.AddStoreCredentials"/>), else the environment (tools and tests, which have
/// no host). Process-wide because every engine connection and etcd client of a process uses the same ones, and many
/// are made far from any service container (static helpers, tools).
/// </summary>
public static class ProcessCredentials
{
    private static EngineCredentials? _engines;
    private static EtcdCredentials? _etcd;

    public static EngineCredentials Engines
    {
        get => _engines ??= EngineCredentials.From(Environment());
        set => _engines = value;
    }

    public static EtcdCredentials Etcd
    {
        get => _etcd ??= EtcdCredentials.From(Environment());
        set => _etcd = value;
    }

    private static IConfiguration Environment() => new ConfigurationBuilder().AddEnvironmentVariables().Build();
}
