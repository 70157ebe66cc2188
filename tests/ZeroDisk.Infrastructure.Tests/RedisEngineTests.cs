using StackExchange.Redis;
using ZeroDisk.ServiceDefaults.Engines;
using ZeroDisk.Testing;

namespace ZeroDisk.Infrastructure.Tests;

public class RedisEngineTests
{
    [Fact]
    public async Task Hset_and_hget_on_the_shared_primary_cluster()
    {
        var endpoints = await SharedInfrastructure.GetAsync();
        Assert.NotEmpty(endpoints.RedisPrimary);
        Assert.Equal(endpoints.RedisPrimary.Count, endpoints.RedisSlave.Count);
        await using var redis = await EngineConnection.ConnectAsync(endpoints.RedisPrimary[0]);
        var key = TestNames.Unique("nondedup:it");
        var block = new byte[4096];
        Random.Shared.NextBytes(block);
        await redis.GetDatabase().HashSetAsync(key, 7, block);
        Assert.Equal(block, (byte[]?)await redis.GetDatabase().HashGetAsync(key, 7));
        await redis.GetDatabase().KeyDeleteAsync(key);
    }

    [Fact]
    public async Task A_killed_engine_refuses_connections_and_comes_back_with_its_data()
    {
        await using var engine = await RedisServerProcess.StartAsync();
        var options = EngineConnection.Options(engine.Address);
        options.AbortOnConnectFail = false;
        options.ConnectTimeout = 500;
        await using var redis = await ConnectionMultiplexer.ConnectAsync(options);
        var db = redis.GetDatabase();
        await db.HashSetAsync("nondedup:vd", 1, "before-crash");
        // appendfsync everysec: give the AOF its one-second fsync before the crash.
        await Task.Delay(1500);
        var pidBefore = engine.Pid;

        await engine.KillAsync();
        Assert.False(engine.IsRunning);
        await Assert.ThrowsAnyAsync<RedisException>(() => db.PingAsync());

        await engine.RestartAsync();
        Assert.NotEqual(pidBefore, engine.Pid);
        await using var again = await EngineConnection.ConnectAsync(engine.Address + ",allowAdmin=true");
        Assert.Equal("before-crash", (string?)await again.GetDatabase().HashGetAsync("nondedup:vd", 1));
        var config = await again.GetServers()[0].ConfigGetAsync("appendonly");
        Assert.Equal("yes", config.Single().Value);
    }
}
