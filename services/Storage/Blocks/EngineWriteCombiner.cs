using System.Buffers;
using StackExchange.Redis;
using ZeroDisk.Storage.Resp;

namespace ZeroDisk.Storage;

/// <summary>
/// Group commit of one vdisk's fenced block writes to one engine: the fence script checks the fence epoch and the
/// identity marker once per call, then does every HSET/HDEL (and twin dirty-set SADD) of the call. The first write
/// goes out at once; writes that arrive while <see cref="MaxCallsInFlight"/> calls are out join the next call (up to
/// <see cref="MaxEntries"/> entries or <see cref="MaxBytes"/>). A call is atomic on the engine, so its outcome is
/// every entry's outcome: each caller awaits its call's task, and a FENCED, IDENTITY or connection failure fails
/// every write in it exactly as it would have failed alone — and the writes queued behind it, which would only go
/// to the same failing engine. Calls go over the engine's data-path connection (<see cref="RespConnection"/>): its
/// reply completes the call's writers inline on the thread that read it. A call of at least <see cref="WatchedFromBytes"/>
/// goes as a transaction behind WATCH instead (<see cref="EngineFence.WriteWatchedAsync(StorageEngine, ExclusiveConnections, RespArg[][])"/>):
/// same checks, same effects, but the engine stores the data without passing it through Lua, which cost it as much CPU
/// again as storing it.
/// </summary>
internal sealed class EngineWriteCombiner(EngineFence fence, RespConnection data, ExclusiveConnections watched, StorageEngine engine)
{
    /// <summary>Entries per call: well below what Lua's unpack and one command timeout allow.</summary>
    public const int MaxEntries = 64;

    public const int MaxBytes = 1 << 20;

    /// <summary>Calls out at once: few, so that writes arriving meanwhile batch up instead of each going alone.</summary>
    public const int MaxCallsInFlight = 2;

    /// <summary>
    /// Calls of this many bytes or more go as watched transactions: their two round trips (WATCH and reads, then the
    /// transaction) cost little next to the data, while small calls keep the script's one round trip.
    /// </summary>
    public const int WatchedFromBytes = 128 * 1024;

    // KEYS: fence, blocks hash, identity marker, the vdisk's durable recent-write window, then the twins' dirty sets
    // the entries name. ARGV: epoch, expected marker, now (ms), window (ms), then per entry: block, content ('' = all
    // zeroes: delete), dirty set (0 = none, else its index after the window). Raises a lower fence on the way, like a
    // single write did. Every block written (deletes too) joins the window, trimmed to its length at each call: what a
    // crash of the other side may have lost, known to whoever owns the vdisk next (docs/DECISIONS.md, engine-trust).
    private static readonly RespScript WriteBlocksScript = new(EngineFence.BlockWritePrologue + """
        local now = tonumber(ARGV[3])
        for i = 5, #ARGV, 3 do
          if ARGV[i + 2] ~= '0' then redis.call('SADD', KEYS[4 + tonumber(ARGV[i + 2])], ARGV[i]) end
          if ARGV[i + 1] == '' then redis.call('HDEL', KEYS[2], ARGV[i]) else redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
          redis.call('ZADD', KEYS[4], now, ARGV[i])
        end
        redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', '(' .. (now - tonumber(ARGV[4])))
        return (#ARGV - 4) / 3
        """);

    private readonly Lock _gate = new();
    private readonly Queue<Batch> _full = new();
    private Batch? _open;
    private int _inFlight;

    /// <summary>
    /// Writes one whole block (empty = delete), marking it dirty for the twin when <paramref name="twinDirtyKey"/> is
    /// given. <paramref name="content"/> is sent as it is, not copied: it must stay unchanged until the task completes.
    /// </summary>
    public Task WriteAsync(long block, ReadOnlyMemory<byte> content, RedisKey? twinDirtyKey)
    {
        Batch? send = null;
        Task done;
        lock (_gate)
        {
            if (_open is not null && !_open.Fits(content.Length))
            {
                _full.Enqueue(_open);
                _open = null;
            }
            _open ??= new Batch();
            done = _open.Add(block, content, twinDirtyKey);
            if (_inFlight < MaxCallsInFlight)
            {
                send = TakeNext();
                _inFlight++;
            }
        }
        if (send is not null) _ = SendAsync(send);
        return done;
    }

    /// <summary>The oldest batch waiting, or null. Called under the gate.</summary>
    private Batch? TakeNext()
    {
        if (_full.TryDequeue(out var next)) return next;
        next = _open;
        _open = null;
        return next;
    }

    /// <summary>Every batch waiting, oldest first, taken out of the queue. Called under the gate.</summary>
    private List<Batch> DrainWaiting()
    {
        var waiting = new List<Batch>(_full.Count + 1);
        while (TakeNext() is { } batch) waiting.Add(batch);
        return waiting;
    }

    /// <summary>Sends the batch; when it is answered, sends the next one waiting, then completes this one's writes.</summary>
    private async Task SendAsync(Batch batch)
    {
        Exception? error = null;
        try
        {
            if (batch.Bytes >= WatchedFromBytes && batch.WatchedCommands(fence) is { } commands) await fence.WriteWatchedAsync(engine, watched, commands);
            else await fence.WriteOnDataPathAsync(data, engine, WriteBlocksScript, batch.Keys(fence), batch.Args(fence, engine));
        }
        catch (Exception ex)
        {
            error = ex;
        }
        Batch? next;
        List<Batch>? failedToo = null;
        lock (_gate)
        {
            // After a failed call the writes waiting behind it would go to the same failing engine: each would
            // wait out its own timeout, stretching the failover stall. They fail now, the same way.
            if (error is not null) failedToo = DrainWaiting();
            next = TakeNext();
            if (next is null) _inFlight--;
        }
        if (next is not null) _ = SendAsync(next);
        // The writers' continuations run here, one after the other on this thread: a thread-pool hop each (a
        // context switch, dear on this hardware) cost more than the writes themselves.
        batch.Complete(error);
        foreach (var waiting in failedToo ?? []) waiting.Complete(error);
    }

    /// <summary>
    /// The entries of one call, each with its writer's own completion: a task awaited by many completes all but one of
    /// them on the thread pool (the runtime inlines only one continuation per task), and those hops were a third of the
    /// server's CPU at 4 KiB QD32 writes (docs/RESULTS.md, session 17).
    /// </summary>
    private sealed class Batch
    {
        private long[] _blocks = ArrayPool<long>.Shared.Rent(MaxEntries);
        private ReadOnlyMemory<byte>[] _contents = ArrayPool<ReadOnlyMemory<byte>>.Shared.Rent(MaxEntries);
        private int[] _dirtySets = ArrayPool<int>.Shared.Rent(MaxEntries);
        private readonly List<RedisKey> _dirtyKeys = [];
        private TaskCompletionSource[] _writers = ArrayPool<TaskCompletionSource>.Shared.Rent(MaxEntries);
        private int _count;
        private long _bytes;

        public bool Fits(int bytes) => _count < MaxEntries && (_count == 0 || _bytes + bytes <= MaxBytes);

        public long Bytes => _bytes;

        /// <summary>Adds one write; its task completes when the call does.</summary>
        public Task Add(long block, ReadOnlyMemory<byte> content, RedisKey? dirtyKey)
        {
            var dirty = 0;
            if (dirtyKey is { } key)
            {
                dirty = _dirtyKeys.IndexOf(key) + 1;
                if (dirty == 0)
                {
                    _dirtyKeys.Add(key);
                    dirty = _dirtyKeys.Count;
                }
            }
            var writer = _writers[_count] = new TaskCompletionSource();
            _blocks[_count] = block;
            _contents[_count] = content; // sent as it is: copied into the connection's send buffer when the call is queued
            _dirtySets[_count] = dirty;
            _count++;
            _bytes += content.Length;
            return writer.Task;
        }

        public RespArg[] Keys(EngineFence fence)
        {
            var keys = fence.BlockWriteKeys(_dirtyKeys.Count);
            for (var i = 0; i < _dirtyKeys.Count; i++) keys[4 + i] = _dirtyKeys[i];
            return keys;
        }

        public void Complete(Exception? error)
        {
            // Cleared on return: the contents reference the callers' buffers.
            ArrayPool<ReadOnlyMemory<byte>>.Shared.Return(_contents, clearArray: true);
            ArrayPool<long>.Shared.Return(_blocks);
            ArrayPool<int>.Shared.Return(_dirtySets);
            _contents = [];
            _blocks = [];
            _dirtySets = [];
            var writers = _writers;
            _writers = [];
            for (var i = 0; i < _count; i++)
            {
                if (error is null) writers[i].SetResult();
                else writers[i].SetException(error);
            }
            ArrayPool<TaskCompletionSource>.Shared.Return(writers, clearArray: true);
        }

        public RespArg[] Args(EngineFence fence, StorageEngine engine)
        {
            var args = fence.BlockWriteArgs(engine, 3 * _count);
            for (int entry = 0, i = 4; entry < _count; entry++, i += 3)
            {
                args[i] = _blocks[entry];
                args[i + 1] = _contents[entry];
                args[i + 2] = _dirtySets[entry];
            }
            return args;
        }

        /// <summary>
        /// The call as a watched transaction's commands, or null when a block appears twice in it (its writes would be
        /// reordered there; the script keeps them in order). The blocks' locks make that never so today.
        /// </summary>
        public RespArg[][]? WatchedCommands(EngineFence fence)
        {
            var blocks = _blocks.AsSpan(0, _count);
            var seen = new HashSet<long>(_count);
            foreach (var block in blocks) if (!seen.Add(block)) return null;
            return WatchedBlockWrites.Commands(fence, blocks, _contents.AsSpan(0, _count), trimWindow: true, _dirtySets.AsSpan(0, _count), _dirtyKeys);
        }
    }
}
