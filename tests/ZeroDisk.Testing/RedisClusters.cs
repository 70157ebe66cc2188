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
        return new RedisClusters(all[..shards], all[shards..]);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var server in Primary.Concat(Slave)) await server.DisposeAsync();
    }
}
