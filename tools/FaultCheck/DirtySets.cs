using ZeroDisk.LocalStack;
using ZeroDisk.ServiceDefaults.Engines;

namespace ZeroDisk.FaultCheck;

/// <summary>The dirty-set keys an engine holds now: the record of which blocks each of its twins missed.</summary>
internal static class DirtySets
{
    /// <param name="pattern">A key pattern, e.g. <c>dirty:&lt;run&gt;-*</c> or <c>dirty:&lt;run&gt;-*:&lt;address&gt;</c>.</param>
    public static async Task<List<string>> OnAsync(RedisServerProcess engine, string pattern)
    {
        var keys = new List<string>();
        await using var redis = await EngineConnection.ConnectAsync($"{engine.Address},connectTimeout=5000,syncTimeout=10000");
        await foreach (var key in redis.GetServer(engine.Address).KeysAsync(pattern: pattern))
            keys.Add(key.ToString());
        return keys;
    }
}
