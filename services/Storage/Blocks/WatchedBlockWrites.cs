using StackExchange.Redis;
using ZeroDisk.Storage.Resp;

namespace ZeroDisk.Storage;

/// <summary>
/// The commands of a block write sent as a transaction behind WATCH (<see cref="EngineFence.WriteWatchedAsync"/>)
/// instead of the block-writing script: the same effects, grouped by command. Blocks with content are set by one
/// multi-field HSET, empty ones deleted by one HDEL, each twin dirty set gets its blocks in one SADD, and every block
/// enters the recent-write window at now in one ZADD (older entries trimmed unless told not to). Grouping reorders a
/// set and a delete of one block, so each block may appear once: callers hold the blocks' locks, which makes that so.
/// </summary>
internal static class WatchedBlockWrites
{
    /// <param name="contents">Per block: its content, or empty for a delete.</param>
    /// <param name="dirtySets">Per block: 0, or the 1-based index in <paramref name="dirtyKeys"/> of the twin's dirty set to add it to.</param>
    /// <param name="trimWindow">False: the window keeps its older entries.</param>
    public static RespArg[][] Commands(EngineFence fence, ReadOnlySpan<long> blocks, ReadOnlySpan<ReadOnlyMemory<byte>> contents, bool trimWindow,
        ReadOnlySpan<int> dirtySets = default, IReadOnlyList<RedisKey>? dirtyKeys = null)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var present = 0;
        foreach (var content in contents) if (!content.IsEmpty) present++;
        var commands = new List<RespArg[]>(4 + (dirtyKeys?.Count ?? 0));
        for (var set = 1; set <= (dirtyKeys?.Count ?? 0); set++)
        {
            var members = new List<RespArg> { "SADD", dirtyKeys![set - 1] };
            for (var i = 0; i < blocks.Length; i++) if (dirtySets[i] == set) members.Add(blocks[i]);
            if (members.Count > 2) commands.Add([.. members]);
        }
        var sets = new RespArg[2 + 2 * present];
        var deletes = new RespArg[2 + blocks.Length - present];
        var window = new RespArg[2 + 2 * blocks.Length];
        sets[0] = "HSET";
        deletes[0] = "HDEL";
        window[0] = "ZADD";
        sets[1] = deletes[1] = fence.BlocksKey;
        window[1] = fence.RecentKey;
        int setAt = 2, deleteAt = 2;
        for (var i = 0; i < blocks.Length; i++)
        {
            if (contents[i].IsEmpty) deletes[deleteAt++] = blocks[i];
            else
            {
                sets[setAt++] = blocks[i];
                sets[setAt++] = contents[i];
            }
            window[2 + 2 * i] = now;
            window[3 + 2 * i] = blocks[i];
        }
        if (present > 0) commands.Add(sets);
        if (present < blocks.Length) commands.Add(deletes);
        commands.Add(window);
        if (trimWindow) commands.Add(["ZREMRANGEBYSCORE", fence.RecentKey, "-inf", $"({now - (long)fence.RecentWindow.TotalMilliseconds}"]);
        return [.. commands];
    }
}
