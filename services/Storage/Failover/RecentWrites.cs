using System.Diagnostics;

namespace ZeroDisk.Storage.Failover;

/// <summary>
/// The blocks of one vdisk written in the last few seconds, per shard. An engine that crashes may come back without
/// its last acknowledged writes (a host that lied about fsync, files restored from a copy), so when an engine is
/// marked failed these blocks go into its dirty set too. A write counts from its request and again from its
/// acknowledgement: the window covers a write that waited long for its turn as well as one still in flight.
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
