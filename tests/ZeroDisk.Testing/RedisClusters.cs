using ZeroDisk.Contracts;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.Testing;

/// <summary>A private primary and slave cluster of redis-server processes, N engines each (one per shard).</summary>
public sealed class RedisClusters : IAsyncDisposable
{
    private RedisClusters(IReadOnlyList<RedisServerProcess> primary, IReadOnlyList<RedisServerProcess> slave)
    {
        Primary = primary;
        Slave = slave;
    }

    public IReadOnlyList<RedisServerProcess> Primary { get; }
    public IReadOnlyList<RedisServerProcess> Slave { get; }

    public static async Task<RedisClusters> StartAsync(int shards = 2)
    {
        var all = await Task.WhenAll(Enumerable.Range(0, shards * 2).Select(_ => RedisServerProcess.StartAsync()));
        await ForgetIdentitiesAsync(all);
        return new RedisClusters(all[..shards], all[shards..]);
    }

    /// <summary>
    /// Fresh engines carry no identity marker. Ports are reused, and other tests (the scheduler's, the drill) leave
    /// identity registrations in the shared etcd; one left for this address would make every write here an
    /// identity failure (the NBD server checks the marker etcd registers).
    /// </summary>
    private static async Task ForgetIdentitiesAsync(IEnumerable<RedisServerProcess> engines)
    {
        var infra = await SharedInfrastructure.GetAsync();
        using var etcd = EtcdExtensions.CreateClient(infra.EtcdEndpoints);
        foreach (var engine in engines) await etcd.DeleteAsync(EtcdKeys.EngineIdentity(engine.Address));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var server in Primary.Concat(Slave)) await server.DisposeAsync();
    }
}
