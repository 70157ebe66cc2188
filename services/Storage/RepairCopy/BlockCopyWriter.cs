using StackExchange.Redis;
using ZeroDisk.Storage.Resp;

namespace ZeroDisk.Storage.RepairCopy;

/// <summary>
/// Writes a repair's copies to their target: one fenced transaction per chunk of up to
/// <see cref="EngineWriteCombiner.MaxBytes"/>, whose blocks are set by one multi-field HSET, deleted by one HDEL and
/// entered in the recent-write window by one ZADD, as a client write enters them (<see cref="WatchedBlockWrites"/>). The fence and the identity marker are
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

    /// <summary>One chunk's commands (<see cref="WatchedBlockWrites"/>): null or empty contents are deletes.</summary>
    private static RespArg[][] CopyCommands(EngineFence fence, ReadOnlySpan<long> blocks, ReadOnlySpan<RedisValue> contents, bool trimWindow)
    {
        var bytes = new ReadOnlyMemory<byte>[contents.Length];
        for (var i = 0; i < contents.Length; i++) if (!contents[i].IsNullOrEmpty) bytes[i] = (byte[])contents[i]!;
        return WatchedBlockWrites.Commands(fence, blocks, bytes, trimWindow);
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
