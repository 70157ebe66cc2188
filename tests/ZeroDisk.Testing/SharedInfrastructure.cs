using DotNet.Testcontainers.Builders;
using DotNet.Testcontainers.Containers;
using Testcontainers.RabbitMq;
using ZeroDisk.LocalStack;

namespace ZeroDisk.Testing;

/// <summary>
/// The RabbitMQ, etcd and Redis clusters every test shares, found in this order: the environment variables
/// (RABBITMQ_URI, ETCD_ENDPOINTS, REDIS_PRIMARY, REDIS_SLAVE — what scripts/test.sh exports); else Testcontainers
/// when a Docker engine is reachable; else scripts/infra.sh up, which starts the local Debian binaries.
/// Tests isolate themselves by unique names (<see cref="TestNames"/>), not by private servers.
/// </summary>
public static class SharedInfrastructure
{
    private static readonly List<IContainer> Containers = [];

    public static Task<InfrastructureEndpoints> GetAsync() =>
        LocalInfrastructure.GetAsync(async () => await TryContainersAsync() ?? await LocalInfrastructure.StartLocalAsync());

    private static async Task<InfrastructureEndpoints?> TryContainersAsync()
    {
        RabbitMqContainer rabbit;
        try
        {
            rabbit = new RabbitMqBuilder("rabbitmq:3.13-management").Build();
        }
        catch (DockerUnavailableException)
        {
            return null; // no Docker engine here: fall back to the local binaries
        }
        var etcd = new ContainerBuilder("quay.io/coreos/etcd:v3.5.17")
            .WithCommand("etcd", "--listen-client-urls", "http://0.0.0.0:2379", "--advertise-client-urls", "http://127.0.0.1:2379")
            .WithPortBinding(2379, assignRandomHostPort: true)
            .WithWaitStrategy(Wait.ForUnixContainer().UntilHttpRequestIsSucceeded(r => r.ForPath("/health").ForPort(2379)))
            .Build();
        var redis = Enumerable.Range(0, 4).Select(_ => new ContainerBuilder("redis:7.0")
            .WithCommand("redis-server", "--appendonly", "yes", "--appendfsync", "always", "--maxmemory-policy", "noeviction")
            .WithPortBinding(6379, assignRandomHostPort: true)
            .WithWaitStrategy(Wait.ForUnixContainer().UntilCommandIsCompleted("redis-cli", "ping"))
            .Build()).ToList();
        Containers.AddRange([rabbit, etcd, .. redis]);
        await Task.WhenAll(Containers.Select(c => c.StartAsync()));
        string Redis(IContainer c) => $"127.0.0.1:{c.GetMappedPublicPort(6379)}";
        return new InfrastructureEndpoints(
            new Uri(rabbit.GetConnectionString()), null,
            $"http://127.0.0.1:{etcd.GetMappedPublicPort(2379)}",
            [Redis(redis[0]), Redis(redis[1])], [Redis(redis[2]), Redis(redis[3])], "testcontainers");
    }
}
