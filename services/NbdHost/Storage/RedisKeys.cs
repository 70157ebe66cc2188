using StackExchange.Redis;

namespace ZeroDisk.NbdHost.Storage;

/// <summary>The Redis key schema on the engines (DESIGN §3), following the original 0-Disk.</summary>
public static class RedisKeys
{
    /// <summary>Hash of a vdisk's blocks: field = block index, value = block bytes; all-zero blocks are absent.</summary>
    public static RedisKey Blocks(string vdiskId) => $"nondedup:{vdiskId}";

    /// <summary>Set of block indexes stale on <paramref name="engineAddress"/>, kept on its twin (invariant 2).</summary>
    public static RedisKey DirtyBlocks(string vdiskId, string engineAddress) => $"dirty:{vdiskId}:{engineAddress}";

    /// <summary>The vdisk's fence epoch on one engine: the highest owner epoch that wrote there (invariant 5).</summary>
    public static RedisKey Fence(string vdiskId) => $"fence:{vdiskId}";

    /// <summary>HSCAN cursor of an unfinished respread of a dead engine's shard, kept on the surviving side.</summary>
    public static RedisKey RespreadCursor(string vdiskId, string deadEngineAddress) => $"respread:{vdiskId}:{deadEngineAddress}";
}
