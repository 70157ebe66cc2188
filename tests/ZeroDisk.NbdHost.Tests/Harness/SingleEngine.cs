using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;
using ZeroDisk.ServiceDefaults.Engines;

namespace ZeroDisk.NbdHost.Tests.Harness;

/// <summary>
/// One real redis-server with its identity marker registered, the storage client's view of it as one slot of a vdisk
/// (<see cref="Slot"/>), and a plain client to check what it stores and which commands it was sent.
/// </summary>
public sealed class SingleEngine(RedisServerProcess redis, StorageEngines engines, ConnectionMultiplexer inspector, EngineSlot slot) : IAsyncDisposable
{
    public RedisServerProcess Redis => redis;
    public ConnectionMultiplexer Inspector => inspector;
    public EngineSlot Slot => slot;
    public IDatabase Db => Inspector.GetDatabase(0);

    public static async Task<SingleEngine> StartAsync(string vdiskId, string identity, EngineState state, ClusterSide side)
    {
        var redis = await RedisServerProcess.StartAsync();
        var engines = new StorageEngines(StorageHarness.TestStorageOptions, new RecordingStderrEvents(), NullLogger<StorageEngines>.Instance);
        var engine = engines.Get(redis.Address);
        var slot = new EngineSlot(engine, engine.Database(0), state, 0, side, RedisKeys.DirtyBlocks(vdiskId, redis.Address), false);
        var inspector = await EngineConnection.ConnectAsync($"{redis.Address},allowAdmin=true");
        // Every write checks the engine's identity marker against the registered one (identity is checked, never assumed).
        await inspector.GetDatabase(0).StringSetAsync(EngineIdentity.RedisKey, identity);
        engine.ExpectedIdentity = identity;
        return new SingleEngine(redis, engines, inspector, slot);
    }

    public Task ResetCommandStatsAsync() => Inspector.GetServer(Redis.Address).ConfigResetStatisticsAsync();

    /// <summary>Calls per command since the last <see cref="ResetCommandStatsAsync"/>, by lower-case command name.</summary>
    public async Task<Dictionary<string, long>> CommandCallsAsync()
    {
        var info = await Inspector.GetServer(Redis.Address).InfoAsync("commandstats");
        return info.SelectMany(g => g)
            .Where(kv => kv.Key.StartsWith("cmdstat_", StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key["cmdstat_".Length..], kv => long.Parse(kv.Value.Split(',')[0]["calls=".Length..]));
    }

    /// <summary>Script calls since the last <see cref="ResetCommandStatsAsync"/> (EVALSHA, and EVAL when the script was not loaded yet).</summary>
    public async Task<long> ScriptCallsAsync()
    {
        var calls = await CommandCallsAsync();
        return calls.GetValueOrDefault("evalsha") + calls.GetValueOrDefault("eval");
    }

    public async ValueTask DisposeAsync()
    {
        await inspector.DisposeAsync();
        await engines.DisposeAsync();
        await redis.DisposeAsync();
    }
}
