using StackExchange.Redis;

namespace ZeroDisk.NbdHost.Tests.Harness;

/// <summary>What an engine says it was asked: INFO commandstats, to tell which commands a write path really sent.</summary>
public static class EngineCommandStats
{
    /// <summary>Calls per command since the last CONFIG RESETSTAT, by lower-case command name.</summary>
    public static async Task<Dictionary<string, long>> CallsAsync(ConnectionMultiplexer inspector, string address)
    {
        var info = await inspector.GetServer(address).InfoAsync("commandstats");
        return info.SelectMany(g => g)
            .Where(kv => kv.Key.StartsWith("cmdstat_", StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key["cmdstat_".Length..], kv => long.Parse(kv.Value.Split(',')[0]["calls=".Length..]));
    }

    /// <summary>Script calls since the last CONFIG RESETSTAT (EVALSHA, and EVAL when the script was not loaded yet).</summary>
    public static async Task<long> ScriptCallsAsync(ConnectionMultiplexer inspector, string address)
    {
        var calls = await CallsAsync(inspector, address);
        return calls.GetValueOrDefault("evalsha") + calls.GetValueOrDefault("eval");
    }
}
