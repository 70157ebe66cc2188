namespace ZeroDisk.Contracts;

/// <summary>
/// Where block <c>i</c> of a vdisk lives. Its home shard is <c>i % N</c>; when that shard is rip (its primary or
/// slave engine is rip) the block is respread: <c>k = i; do { s = jump(k, N); k++ } while (rip(s))</c>, with N the
/// number of all shards, rip ones included. Every reader and writer must use this one definition.
/// </summary>
public static class ShardPlacement
{
    public static int HomeShard(long block, int shardCount) => (int)(block % shardCount);

    /// <param name="isRip">Whether a shard index is rip; must leave at least one shard that is not.</param>
    public static int ShardOf(long block, int shardCount, Func<int, bool> isRip)
    {
        var home = HomeShard(block, shardCount);
        if (!isRip(home)) return home;
        var key = (ulong)block;
        for (var attempts = 0; attempts < 64 * shardCount + 1024; attempts++)
        {
            var shard = JumpHash.Bucket(key, shardCount);
            key++;
            if (!isRip(shard)) return shard;
        }
        throw new InvalidOperationException($"no live shard found for block {block}: all {shardCount} shards are rip?");
    }

    public static int ShardOf(long block, IReadOnlyList<bool> ripShards) =>
        ShardOf(block, ripShards.Count, s => ripShards[s]);
}
