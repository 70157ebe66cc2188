using StackExchange.Redis;

namespace ZeroDisk.ServiceDefaults.Engines;

/// <summary>
/// Engine keys read by more than the data path: the NBD servers write them, the control plane reads them to judge
/// which side of a shard is complete, and the admin purge deletes them. One spelling for all.
/// </summary>
public static class EngineKeys
{
    /// <summary>Set of block indexes stale on <paramref name="engineAddress"/>, kept on its twin (the dirty set is the truth).</summary>
    public static RedisKey DirtyBlocks(string vdiskId, string engineAddress) => $"dirty:{vdiskId}:{engineAddress}";
}
