using StackExchange.Redis;
using ZeroDisk.Contracts;
using ZeroDisk.ServiceDefaults.Engines;

namespace ZeroDisk.ClusterState.Setup;

/// <summary>What an engine holds before it joins a cluster: its identity marker, if any, and a sample of other keys.</summary>
public sealed record EngineContents(string Address, string? Marker, IReadOnlyList<string> DataKeys);

/// <summary>
/// The engine side of registering an engine (identity is checked, never assumed): the marker
/// <see cref="EngineIdentity.RedisKey"/> is written with SET NX, so an engine that already carries one keeps it and
/// the caller sees whose it is; an engine that holds data is never adopted, since an empty-looking cluster config
/// over an engine full of another deployment's blocks would serve them as this one's.
/// </summary>
public static class EngineMarkers
{
    /// <summary>Keys that do not count as data: the marker itself and the scheduler's probe keys (one minute TTL).</summary>
    private static bool IsBookkeeping(string key) =>
        key == EngineIdentity.RedisKey || key.StartsWith("zerodisk:probe:", StringComparison.Ordinal);

    /// <summary>A new marker for an engine of <paramref name="clusterId"/>: the cluster id, then a unique part.</summary>
    public static string NewMarker(string clusterId) => $"{clusterId}/{Guid.NewGuid():N}";

    /// <summary>The cluster a marker written by <see cref="NewMarker"/> names, or null for any other value.</summary>
    public static string? ClusterOf(string marker) => marker.LastIndexOf('/') is var slash and > 0 ? marker[..slash] : null;

    public static async Task<EngineContents> InspectAsync(IConnectionMultiplexer redis, StorageServerConfig engine, CancellationToken ct)
    {
        var db = redis.GetDatabase(engine.Db);
        var marker = await db.StringGetAsync(EngineIdentity.RedisKey);
        var server = redis.GetServer(redis.GetEndPoints()[0]);
        var data = new List<string>();
        await foreach (var key in server.KeysAsync(engine.Db, pageSize: 200).WithCancellation(ct))
        {
            if (IsBookkeeping(key!)) continue;
            data.Add(key!);
            if (data.Count == 3) break;
        }
        return new EngineContents(engine.Address, marker.IsNull ? null : marker.ToString(), data);
    }

    /// <summary>SET NX of the marker; returns the marker the engine holds afterwards (ours, or the one that was there).</summary>
    public static async Task<string> SetIfAbsentAsync(IConnectionMultiplexer redis, StorageServerConfig engine, string marker)
    {
        var db = redis.GetDatabase(engine.Db);
        if (await db.StringSetAsync(EngineIdentity.RedisKey, marker, when: When.NotExists)) return marker;
        return (await db.StringGetAsync(EngineIdentity.RedisKey)).ToString();
    }

    /// <summary>Takes back a marker this call wrote, only while it is still that value (a failed registration leaves nothing behind).</summary>
    public static async Task RemoveIfEqualAsync(IConnectionMultiplexer redis, StorageServerConfig engine, string marker)
    {
        const string script = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";
        try
        {
            await redis.GetDatabase(engine.Db).ScriptEvaluateAsync(script, [EngineIdentity.RedisKey], [marker]);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // Best effort: a marker of ours left on an engine that is not registered only means a retry reuses it.
        }
    }

    public static Task<ConnectionMultiplexer> ConnectAsync(string address) =>
        EngineConnection.ConnectAsync($"{address},abortConnect=true,connectTimeout=10000,syncTimeout=10000,allowAdmin=true");
}
