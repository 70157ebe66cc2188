using StackExchange.Redis;
using ZeroDisk.ServiceDefaults.Engines;

namespace ZeroDisk.Storage;

/// <summary>The Redis key schema on the engines, following the original 0-Disk.</summary>
public static class RedisKeys
{
    /// <summary>Hash of a vdisk's blocks: field = block index, value = block bytes; all-zero blocks are absent.</summary>
    public static RedisKey Blocks(string vdiskId) => $"nondedup:{vdiskId}";

    /// <summary>Set of block indexes stale on <paramref name="engineAddress"/>, kept on its twin (the dirty set is the truth).</summary>
    public static RedisKey DirtyBlocks(string vdiskId, string engineAddress) => EngineKeys.DirtyBlocks(vdiskId, engineAddress);

    /// <summary>The vdisk's fence epoch on one engine: the highest owner epoch that wrote there (one writer per vdisk).</summary>
    public static RedisKey Fence(string vdiskId) => $"fence:{vdiskId}";

    /// <summary>HSCAN cursor of an unfinished respread of a dead engine's shard, kept on the surviving side.</summary>
    public static RedisKey RespreadCursor(string vdiskId, string deadEngineAddress) => $"respread:{vdiskId}:{deadEngineAddress}";

    /// <summary>
    /// The vdisk's durable recent-write window on one engine: sorted set of block indexes scored by write time (ms),
    /// trimmed to the window at every write (engine-trust, docs/DECISIONS.md).
    /// </summary>
    public static RedisKey RecentWrites(string vdiskId) => $"recent:{vdiskId}";

    /// <summary>
    /// What the vdisk's owners recorded on one engine: the layout its blocks were written with (shards, blockSize) and
    /// the run_id each engine of the shard had when an owner last verified it (<c>runid:&lt;address&gt;</c>).
    /// </summary>
    public static RedisKey VdiskRecord(string vdiskId) => $"zerodisk:vdisk:{vdiskId}";
}
