using Grpc.Core;
using Grpc.Net.Client;
using Grpc.Net.Client.Balancer;
using Grpc.Net.Client.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace ZeroDisk.ServiceDefaults.Etcd;

/// <summary>
/// One gRPC channel to every member of an etcd cluster (ETCD_ENDPOINTS, comma-separated): gRPC's own client-side
/// balancer picks a member that answers and moves on when one dies, so raw-gRPC users (leases, transactions) survive
/// the loss of a member as the dotnet-etcd client does.
/// </summary>
public static class EtcdChannel
{
    public static GrpcChannel Create(string endpoints)
    {
        var members = EtcdExtensions.NormaliseEndpoints(endpoints).Split(',').Select(e => new Uri(e)).ToList();
        if (members.Count == 1) return GrpcChannel.ForAddress(members[0]);
        var services = new ServiceCollection();
        services.AddSingleton<ResolverFactory>(new StaticResolverFactory(_ => members.Select(m => new BalancerAddress(m.Host, m.Port))));
        return GrpcChannel.ForAddress("static:///etcd", new GrpcChannelOptions
        {
            Credentials = ChannelCredentials.Insecure,
            ServiceProvider = services.BuildServiceProvider(),
            ServiceConfig = new ServiceConfig { LoadBalancingConfigs = { new PickFirstConfig() } },
        });
    }
}
