using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Grpc.Net.Client.Balancer;
using Grpc.Net.Client.Configuration;
using Microsoft.Extensions.DependencyInjection;
using ZeroDisk.ServiceDefaults.Security;

namespace ZeroDisk.ServiceDefaults.Etcd;

/// <summary>
/// One gRPC channel to every member of an etcd cluster (ETCD_ENDPOINTS, comma-separated): gRPC's own client-side
/// balancer picks a member that answers and moves on when one dies, so raw-gRPC users (leases, transactions) survive
/// the loss of a member as the dotnet-etcd client does. TLS (<c>https://</c> endpoints) and authentication come from
/// <see cref="ProcessCredentials.Etcd"/>: raw-gRPC clients are built on <see cref="Authenticated"/>.
/// </summary>
public static class EtcdChannel
{
    /// <param name="credentials">Other credentials than this process's (dotnet-etcd clients made for a test's own user).</param>
    public static GrpcChannel Create(string endpoints, EtcdCredentials? credentials = null)
    {
        credentials ??= ProcessCredentials.Etcd;
        var members = EtcdExtensions.NormaliseEndpoints(endpoints).Split(',').Select(e => new Uri(e)).ToList();
        var options = new GrpcChannelOptions();
        ConfigureTls(options, members, credentials);
        if (members.Count == 1) return GrpcChannel.ForAddress(members[0], options);
        var services = new ServiceCollection();
        services.AddSingleton<ResolverFactory>(new StaticResolverFactory(_ => members.Select(m => new BalancerAddress(m.Host, m.Port))));
        options.Credentials = IsTls(members) ? ChannelCredentials.SecureSsl : ChannelCredentials.Insecure;
        options.ServiceProvider = services.BuildServiceProvider();
        options.ServiceConfig = new ServiceConfig { LoadBalancingConfigs = { new PickFirstConfig() } };
        return GrpcChannel.ForAddress("static:///etcd", options);
    }

    /// <summary>The channel's calls with etcd's authentication token when a user is configured (<see cref="EtcdAuthentication"/>).</summary>
    public static CallInvoker Authenticated(GrpcChannel channel) => channel.Intercept(new EtcdAuthentication(new Lazy<GrpcChannel>(channel), ProcessCredentials.Etcd));

    /// <summary>https endpoints: the members' CA and the client certificate, when configured, on the channel's handler.</summary>
    internal static void ConfigureTls(GrpcChannelOptions options, IReadOnlyList<Uri> members, EtcdCredentials credentials)
    {
        if (!IsTls(members) || !credentials.HasTlsFiles) return;
        options.HttpHandler = new SocketsHttpHandler
        {
            SslOptions = credentials.ClientTls(host: null),
            EnableMultipleHttp2Connections = true,
        };
    }

    internal static bool IsTls(IReadOnlyList<Uri> members) => members.Any(m => m.Scheme == Uri.UriSchemeHttps);
}
