using dotnet_etcd;
using Grpc.Net.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using ZeroDisk.ServiceDefaults.Security;

namespace ZeroDisk.ServiceDefaults.Etcd;

public static class EtcdExtensions
{
    public const string EndpointsKey = "ETCD_ENDPOINTS";

    /// <summary>One shared etcd client (ETCD_ENDPOINTS, comma-separated URLs) and its health check.</summary>
    public static IHostApplicationBuilder AddEtcd(this IHostApplicationBuilder builder) => builder.AddEtcd(EndpointsFrom(builder.Configuration));

    /// <summary>The same for endpoints a service takes from its command line.</summary>
    public static IHostApplicationBuilder AddEtcd(this IHostApplicationBuilder builder, string endpoints)
    {
        builder.Services.AddSingleton(_ => CreateClient(endpoints));
        builder.Services.AddHealthChecks().AddCheck<EtcdHealthCheck>("etcd", tags: [Health.HealthExtensions.ReadyTag]);
        return builder;
    }

    public static string EndpointsFrom(IConfiguration configuration) =>
        configuration[EndpointsKey] is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException($"{EndpointsKey} is not set (e.g. http://127.0.0.1:23790); run scripts/infra.sh up and source run/infra.env");

    /// <summary>A dotnet-etcd client with this process's etcd credentials (<see cref="ProcessCredentials.Etcd"/>): TLS for https endpoints, a token on every call.</summary>
    /// <param name="credentials">Other credentials than this process's (a test of etcd's authentication).</param>
    public static EtcdClient CreateClient(string endpoints, EtcdCredentials? credentials = null)
    {
        var normalised = NormaliseEndpoints(endpoints);
        credentials ??= ProcessCredentials.Etcd;
        var members = normalised.Split(',').Select(e => new Uri(e)).ToList();
        // The token is obtained over a channel of its own (only when a user is configured): dotnet-etcd's is not exposed.
        var authentication = new EtcdAuthentication(new Lazy<GrpcChannel>(() => EtcdChannel.Create(endpoints, credentials)), credentials);
        return new EtcdClient(normalised, configureChannelOptions: options =>
        {
            if (EtcdChannel.IsTls(members)) options.Credentials = Grpc.Core.ChannelCredentials.SecureSsl;
            EtcdChannel.ConfigureTls(options, members, credentials);
        }, interceptors: [authentication]);
    }

    /// <summary>Accepts "host:port" as well as "http://host:port"; the gRPC client needs the scheme.</summary>
    public static string NormaliseEndpoints(string endpoints) =>
        string.Join(',', endpoints.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(e => e.Contains("://", StringComparison.Ordinal) ? e : $"http://{e}"));
}
