using ZeroDisk.Contracts;

namespace ZeroDisk.Storage;

/// <summary>
/// NBD FLUSH and FUA are answered without waiting for anything beyond the writes themselves (and
/// the tlog, when there is one), because every engine acknowledges a write only once it is fsynced
/// (<see cref="EngineDurability"/>: <c>appendfsync always</c>). An engine that runs without those settings would
/// make FLUSH a lie, so this process refuses it: it is reported failed (the shard is served by its twin, the repair
/// probe then finds it misconfigured and an operator fixes it). Checked whenever the connection is (re)made.
/// </summary>
internal static class EngineDurabilityCheck
{
    /// <summary>Why the engine is not durable enough, or null. A setting the engine does not know (not redis) is not checked.</summary>
    public static async Task<string?> FindProblemAsync(StorageEngine engine)
    {
        var server = engine.Connection.GetServer(engine.Connection.GetEndPoints()[0]);
        foreach (var (name, expected) in EngineDurability.Settings)
        {
            var values = await server.ConfigGetAsync(name);
            if (values.Length == 0) continue;
            var actual = values[0].Value;
            if (!string.Equals(actual, expected, StringComparison.OrdinalIgnoreCase))
                return $"{name} is '{actual}', must be '{expected}' (an acknowledged write must survive a power loss: FLUSH relies on it)";
        }
        return null;
    }
}
