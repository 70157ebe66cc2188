using StackExchange.Redis;
using ZeroDisk.Storage.Resp;

namespace ZeroDisk.Storage.RepairCopy;

/// <summary>
/// Writes a repair's copies to their target: one fenced transaction per chunk of up to
/// <see cref="EngineWriteCombiner.MaxBytes"/>, whose blocks are set by one multi-field HSET, deleted by one HDEL and
/// entered in the recent-write window by one ZADD, as a client write enters them. The fence and the identity marker are
/// checked by WATCH (<see cref="EngineFence.WriteWatchedAsync"/>), not by a script: passing the copied data through Lua
/// cost the target as much again as storing it. The caller holds the blocks' locks, so no client write of them is in
/// flight, and the blocks are distinct, so a set and a delete of one block never meet in one call (their order there
/// would be lost).
/// </summary>
internal static class BlockCopyWriter
{
    /// <summary>
    /// Writes <paramref name="contents"/>[i] (null or empty = absent: a delete) as block <paramref name="blocks"/>[i] on the
    /// target, all chunks at once. Returns, per block, whether its chunk's call succeeded; the first failure of a chunk
    /// is returned too (a call is atomic: a failed chunk wrote nothing, or everything when only its reply was lost).
    /// </summary>
    /// <param name="trimWindow">
    /// False: the target's window keeps its older entries. A takeover's copies must not drop them before every block
    /// they name is checked: a crash halfway would hide the rest from the next owner.
    /// </param>
    public static async Task<(bool[] Written, Exception? Failure)> WriteAsync(EngineFence fence, EngineSlot target, long[] blocks, RedisValue[] contents,
        bool trimWindow = true)
    {
        if (blocks.Length != blocks.Distinct().Count()) throw new ArgumentException("a repair copies each block once per call", nameof(blocks));
        var chunks = Chunks(contents);
        var calls = new Task[chunks.Count];
        for (var c = 0; c < chunks.Count; c++)
        {
            var (first, count) = chunks[c];
            calls[c] = fence.WriteWatchedAsync(target, CopyCommands(fence, blocks.AsSpan(first, count), contents.AsSpan(first, count), trimWindow));
        }
        try
        {
            await Task.WhenAll(calls);
        }
        catch
        {
            // Every chunk's outcome is read below.
        }
        var written = new bool[blocks.Length];
        Exception? failure = null;
        for (var c = 0; c < chunks.Count; c++)
        {
            if (calls[c].IsCompletedSuccessfully) Array.Fill(written, true, chunks[c].First, chunks[c].Count);
            else failure ??= calls[c].Exception?.InnerException;
        }
        return (written, failure);
    }

    /// <summary>
    /// One chunk's commands: HSET of the blocks with content, HDEL of the absent ones, every block in the recent-write
    /// window at now, and the window's older entries trimmed unless <paramref name="trimWindow"/> is false.
    /// </summary>
    private static RespArg[][] CopyCommands(EngineFence fence, ReadOnlySpan<long> blocks, ReadOnlySpan<RedisValue> contents, bool trimWindow)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var present = 0;
        foreach (var content in contents) if (!content.IsNullOrEmpty) present++;
        var sets = new RespArg[2 + 2 * present];
        var deletes = new RespArg[2 + blocks.Length - present];
        var window = new RespArg[2 + 2 * blocks.Length];
        sets[0] = "HSET";
        deletes[0] = "HDEL";
        window[0] = "ZADD";
        sets[1] = deletes[1] = fence.BlocksKey;
        window[1] = fence.RecentKey;
        int set = 2, delete = 2;
        for (var i = 0; i < blocks.Length; i++)
        {
            if (contents[i].IsNullOrEmpty) deletes[delete++] = blocks[i];
            else
            {
                sets[set++] = blocks[i];
                sets[set++] = ((byte[]?)contents[i])!;
            }
            window[2 + 2 * i] = now;
            window[3 + 2 * i] = blocks[i];
        }
        var commands = new List<RespArg[]>(4);
        if (present > 0) commands.Add(sets);
        if (present < blocks.Length) commands.Add(deletes);
        commands.Add(window);
        if (trimWindow) commands.Add(["ZREMRANGEBYSCORE", fence.RecentKey, "-inf", $"({now - (long)fence.RecentWindow.TotalMilliseconds}"]);
        return [.. commands];
    }

    /// <summary>Consecutive runs of blocks of at most <see cref="EngineWriteCombiner.MaxBytes"/> (at least one block each).</summary>
    private static List<(int First, int Count)> Chunks(RedisValue[] contents)
    {
        var chunks = new List<(int, int)>();
        var first = 0;
        long bytes = 0;
        for (var i = 0; i < contents.Length; i++)
        {
            var length = contents[i].IsNull ? 0 : (long)contents[i].Length();
            if (i > first && bytes + length > EngineWriteCombiner.MaxBytes)
            {
                chunks.Add((first, i - first));
                first = i;
                bytes = 0;
            }
            bytes += length;
        }
        if (contents.Length > first) chunks.Add((first, contents.Length - first));
        return chunks;
    }
}
