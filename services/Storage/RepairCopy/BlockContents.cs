using StackExchange.Redis;
using ZeroDisk.Storage.Resp;

namespace ZeroDisk.Storage.RepairCopy;

/// <summary>Whole blocks' contents as one engine stores them, for code that copies blocks between engines.</summary>
internal static class BlockContents
{
    private const int BlocksPerRead = 64;

    /// <summary>
    /// The blocks' contents on <paramref name="slot"/> (null = absent: all zeroes), in pipelined HMGETs on the data
    /// path's connection, whose replies complete the caller inline like a client read's.
    /// </summary>
    public static async Task<RedisValue[]> ReadAsync(EngineSlot slot, RedisKey blocksKey, RedisValue[] blocks)
    {
        var parts = await Task.WhenAll(blocks.Chunk(BlocksPerRead).Select(fields =>
        {
            var command = new RespArg[2 + fields.Length];
            command[0] = "HMGET";
            command[1] = blocksKey;
            for (var i = 0; i < fields.Length; i++) command[2 + i] = (long)fields[i];
            return slot.Data.ExecuteAsync(command);
        }));
        var contents = new RedisValue[blocks.Length];
        var at = 0;
        foreach (var part in parts)
            foreach (var item in part.Items!)
                contents[at++] = item.IsNull ? RedisValue.Null : (RedisValue)item.Bytes;
        return contents;
    }

    /// <summary>Blocks of <paramref name="blockSize"/> per <see cref="CompareAsync"/> call: bounds what two sides' contents hold in memory.</summary>
    public static int BlocksPerComparison(int blockSize) => Math.Max(1, (8 << 20) / blockSize);

    /// <summary>
    /// Reads the blocks on both sides and finds where they differ. A side whose engine fails is reported (failover)
    /// and named in the result; nothing is compared then.
    /// </summary>
    public static async Task<Comparison> CompareAsync(StorageEngines engines, EngineSlot from, EngineSlot to, RedisKey blocksKey, RedisValue[] blocks)
    {
        RedisValue[] want, have;
        try
        {
            want = await ReadAsync(from, blocksKey, blocks);
        }
        catch (Exception ex) when (StorageEngines.IsEngineFailure(ex))
        {
            engines.ReportFailure(from.Engine, ex);
            return new Comparison([], [], from, ex);
        }
        try
        {
            have = await ReadAsync(to, blocksKey, blocks);
        }
        catch (Exception ex) when (StorageEngines.IsEngineFailure(ex))
        {
            engines.ReportFailure(to.Engine, ex);
            return new Comparison([], [], to, ex);
        }
        var differing = Enumerable.Range(0, blocks.Length).Where(i => !Same(want[i], have[i])).ToArray();
        return new Comparison(want, differing, null, null);
    }

    /// <summary>Whether two stored contents are the same block (both absent, or the same bytes).</summary>
    private static bool Same(RedisValue a, RedisValue b) =>
        a.IsNull ? b.IsNull : !b.IsNull && ((byte[])a!).AsSpan().SequenceEqual((byte[])b!);
}

/// <summary>Two sides' contents of the same blocks compared: the first side's contents and the indexes where the other differs.</summary>
/// <param name="FailedSide">The side whose engine failed during the reads (reported already), else null.</param>
internal sealed record Comparison(RedisValue[] From, int[] Differing, EngineSlot? FailedSide, Exception? Failure);
