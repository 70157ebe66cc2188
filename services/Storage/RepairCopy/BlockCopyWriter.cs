using StackExchange.Redis;
using ZeroDisk.Storage.Resp;

namespace ZeroDisk.Storage.RepairCopy;

/// <summary>
/// Writes a repair's copies to their target: one fenced script call per chunk of up to
/// <see cref="EngineWriteCombiner.MaxBytes"/>, whose blocks are set by one multi-field HSET, deleted by one HDEL and
/// entered in the recent-write window by one ZADD. Each call from Lua into the engine costs about as much as the
/// write it makes: a call per block doubled the target engine's CPU per copied MiB against a plain HSET copy. The
/// caller holds the blocks' locks, so no client write of them is in flight, and the blocks are distinct, so a set and
/// a delete of one block never meet in one call (their order there would be lost).
/// </summary>
internal static class BlockCopyWriter
{
    // KEYS: fence, blocks hash, identity marker, the vdisk's durable recent-write window. ARGV: epoch, expected
    // marker, now (ms), window (ms), then per block: block, content ('' = absent: delete). Raises a lower fence on
    // the way and keeps every block written (deletes too) in the window, as a client write does.
    private static readonly RespScript CopyBlocksScript = new(EngineFence.BlockWritePrologue + """
        local now = ARGV[3]
        local sets, deletes, window = {}, {}, {}
        for i = 5, #ARGV, 2 do
          if ARGV[i + 1] == '' then
            deletes[#deletes + 1] = ARGV[i]
          else
            sets[#sets + 1] = ARGV[i]
            sets[#sets + 1] = ARGV[i + 1]
          end
          window[#window + 1] = now
          window[#window + 1] = ARGV[i]
        end
        if #sets > 0 then redis.call('HSET', KEYS[2], unpack(sets)) end
        if #deletes > 0 then redis.call('HDEL', KEYS[2], unpack(deletes)) end
        if #window > 0 then redis.call('ZADD', KEYS[4], unpack(window)) end
        redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', '(' .. (tonumber(now) - tonumber(ARGV[4])))
        return (#ARGV - 4) / 2
        """);

    /// <summary>A window longer than the epoch's age in ms: the trim in the script removes nothing.</summary>
    private const long KeepWholeWindowMs = long.MaxValue / 4;

    /// <summary>
    /// Writes <paramref name="contents"/>[i] (null = absent: a delete) as block <paramref name="blocks"/>[i] on the
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
            var args = fence.BlockWriteArgs(target.Engine, 2 * count);
            if (!trimWindow) args[3] = KeepWholeWindowMs;
            for (var i = 0; i < count; i++)
            {
                args[4 + 2 * i] = blocks[first + i];
                args[5 + 2 * i] = (byte[]?)contents[first + i] ?? [];
            }
            calls[c] = fence.WriteOnDataPathAsync(target.Data, target.Engine, CopyBlocksScript, fence.BlockWriteKeys(0), args);
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
