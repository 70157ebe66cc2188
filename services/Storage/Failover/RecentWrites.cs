using System.Diagnostics;

namespace ZeroDisk.Storage.Failover;

/// <summary>
/// The blocks of one vdisk written in the last few seconds, per shard. An engine that crashes may lose its last
/// ~1 s of acknowledged writes (appendfsync everysec), so when an engine is marked failed these blocks go into its
/// dirty set too (a crashed engine may have lost its last second).
/// </summary>
internal sealed class RecentWrites(int shards, TimeSpan window)
{
    private readonly Queue<(long Block, long Timestamp)>[] _perShard = Enumerable.Range(0, shards).Select(_ => new Queue<(long, long)>()).ToArray();
    private readonly long _windowTicks = (long)(window.TotalSeconds * Stopwatch.Frequency);

    public void Add(int shard, long block)
    {
        var queue = _perShard[shard];
        var now = Stopwatch.GetTimestamp();
        lock (queue)
        {
            Trim(queue, now);
            queue.Enqueue((block, now));
        }
    }

    /// <summary>The distinct blocks of <paramref name="shard"/> written within the window.</summary>
    public List<long> Snapshot(int shard)
    {
        var queue = _perShard[shard];
        lock (queue)
        {
            Trim(queue, Stopwatch.GetTimestamp());
            return queue.Select(e => e.Block).Distinct().ToList();
        }
    }

    private void Trim(Queue<(long Block, long Timestamp)> queue, long now)
    {
        while (queue.Count > 0 && now - queue.Peek().Timestamp > _windowTicks) queue.Dequeue();
    }
}
