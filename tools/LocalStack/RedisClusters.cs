using ZeroDisk.Contracts;
using ZeroDisk.ServiceDefaults.Engines;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.LocalStack;

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

    /// <param name="registered">
    /// True: identity markers registered by hand, as the data-plane tests need them. False: bare engines, for what sets
    /// clusters up through the admin API (it refuses an engine that is already registered or marked).
    /// </param>
    public static async Task<RedisClusters> StartAsync(int shards = 2, bool registered = true)
    {
        var starts = Enumerable.Range(0, shards * 2).Select(_ => RedisServerProcess.StartAsync()).ToArray();
        RedisServerProcess[] all;
        try
        {
            all = await Task.WhenAll(starts);
        }
        catch
        {
            // The engines that did start belong to no cluster yet: left running they would outlive the test on their ports.
            foreach (var started in starts.Where(s => s.IsCompletedSuccessfully)) await (await started).DisposeAsync();
            throw;
        }
        if (registered) await RegisterIdentitiesAsync(all);
        return new RedisClusters(all[..shards], all[shards..]);
    }

    /// <summary>The identity marker registered for an engine (in etcd and in the engine), as an operator's tooling does.</summary>
    public static string MarkerOf(RedisServerProcess engine) => $"engine-{engine.Port}-{engine.Directory.GetHashCode():x8}";

    /// <summary>
    /// Registers every engine's identity marker, in the engine and in etcd, as registering a cluster does (the NBD
    /// server never uses an engine whose marker it cannot verify). Ports are reused, so a marker
    /// unique to this engine process's directory replaces whatever another test left registered for the address.
    /// </summary>
    public static async Task RegisterIdentitiesAsync(IEnumerable<RedisServerProcess> engines)
    {
        var infra = await LocalInfrastructure.GetAsync();
        using var etcd = EtcdExtensions.CreateClient(infra.EtcdEndpoints);
        foreach (var engine in engines)
        {
            var marker = MarkerOf(engine);
            await using var redis = await EngineConnection.ConnectAsync(engine.Address);
            await redis.GetDatabase().StringSetAsync(EngineIdentity.RedisKey, marker);
            await etcd.PutAsync(EtcdKeys.EngineIdentity(engine.Address), marker);
        }
    }

    /// <summary>Stops the engines even when etcd is down (a fault run that ends with etcd killed): engines left running hold their ports.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            var infra = await LocalInfrastructure.GetAsync();
            using var etcd = EtcdExtensions.CreateClient(infra.EtcdEndpoints);
            foreach (var server in Primary.Concat(Slave)) await etcd.DeleteAsync(EtcdKeys.EngineIdentity(server.Address));
        }
        finally
        {
            foreach (var server in Primary.Concat(Slave)) await server.DisposeAsync();
        }
    }
}
