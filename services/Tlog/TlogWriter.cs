using System.Buffers;
using System.Numerics;
using Microsoft.Extensions.Logging;

namespace ZeroDisk.Tlog;

/// <summary>
/// The NBD server's side of the tlog: gives every block write of one vdisk the next sequence number and sends it to
/// every tlog server of the cluster (one <see cref="TlogServerLink"/> each). A record is durable once k servers have
/// fsynced it; <see cref="FlushAsync"/> waits for that (NBD FLUSH and FUA). A dead server does not fail the VM's
/// I/O while k others are live; when it comes back its link resends what it misses from the records kept here.
/// </summary>
public sealed class TlogWriter : IAsyncDisposable
{
    private readonly Lock _gate = new();
    private readonly List<PendingRecord> _retained = [];
    private readonly List<(long Target, TaskCompletionSource Done)> _waiters = [];
    private readonly TlogServerLink[] _links;
    private readonly ulong _allLinks;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ILogger _logger;
    private int _head;
    private long _firstRetained;
    private long _last;
    private long _durable;
    private long _retainedBytes;

    private TlogWriter(TlogWriterOptions options, long highest, ILogger logger)
    {
        Options = options;
        _logger = logger;
        _last = _durable = highest;
        _firstRetained = highest + 1;
        _links = new TlogServerLink[options.Servers.Count];
        _allLinks = options.Servers.Count == 64 ? ulong.MaxValue : (1UL << options.Servers.Count) - 1;
    }

    public TlogWriterOptions Options { get; }
    public long LastSequence { get { lock (_gate) return _last; } }
    public long DurableSequence { get { lock (_gate) return _durable; } }
    public int LiveServers => _links.Count(l => l.IsLive);

    /// <summary>
    /// Connects to the cluster and resumes above the highest sequence any reachable server holds for
    /// (vdisk, epoch). Needs k reachable servers; the others are connected in the background when they answer.
    /// </summary>
    public static async Task<TlogWriter> OpenAsync(TlogWriterOptions options, ILogger logger, CancellationToken ct)
    {
        if (options.Servers.Count is 0 or > 64) throw new ArgumentException("a tlog cluster needs 1 to 64 servers", nameof(options));
        if (options.RequiredAcks < 1 || options.RequiredAcks > options.Servers.Count)
            throw new ArgumentException($"k = {options.RequiredAcks} cannot be met by {options.Servers.Count} tlog servers", nameof(options));
        var probes = await Task.WhenAll(options.Servers.Select(address => ProbeAsync(address, options, ct)));
        var reachable = probes.Count(p => p.Connection is not null);
        if (reachable < options.RequiredAcks)
        {
            foreach (var p in probes) if (p.Connection is not null) await p.Connection.DisposeAsync();
            throw new TlogNotDurableException($"tlog for {options.VdiskId}: only {reachable} of {options.Servers.Count} servers reachable, {options.RequiredAcks} needed");
        }
        var writer = new TlogWriter(options, probes.Max(p => p.Highest), logger);
        for (var i = 0; i < probes.Length; i++)
            writer._links[i] = new TlogServerLink(writer, i, options.Servers[i], logger);
        for (var i = 0; i < probes.Length; i++)
            writer._links[i].Start(probes[i].Connection, probes[i].Highest);
        logger.LogInformation("tlog for {Vdisk} epoch {Epoch}: resuming after sequence {Sequence} on {Reachable} of {Count} servers",
            options.VdiskId, options.Epoch, writer._last, reachable, options.Servers.Count);
        return writer;
    }

    private static async Task<(TlogConnection? Connection, long Highest)> ProbeAsync(string address, TlogWriterOptions options, CancellationToken ct)
    {
        TlogConnection? connection = null;
        try
        {
            connection = await TlogConnection.ConnectAsync(address, options.ConnectTimeout, ct, options.Secret);
            return (connection, await connection.QueryHighestAsync(options.VdiskId, options.Epoch, ct).WaitAsync(options.ConnectTimeout, ct));
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or TimeoutException or InvalidDataException or OperationCanceledException && !ct.IsCancellationRequested)
        {
            if (connection is not null) await connection.DisposeAsync();
            return (null, 0);
        }
    }

    public ValueTask AppendAsync(long blockIndex, ReadOnlyMemory<byte> block, CancellationToken ct = default)
    {
        long backlogTarget;
        lock (_gate) backlogTarget = _last - Options.MaxUndurableRecords + 1;
        return backlogTarget > 0 && DurableSequence < backlogTarget
            ? AppendAfterBacklogAsync(backlogTarget, blockIndex, block, ct)
            : AppendNow(blockIndex, block);
    }

    private async ValueTask AppendAfterBacklogAsync(long target, long blockIndex, ReadOnlyMemory<byte> block, CancellationToken ct)
    {
        await WaitDurableAsync(target, ct);
        await AppendNow(blockIndex, block);
    }

    private ValueTask AppendNow(long blockIndex, ReadOnlyMemory<byte> block)
    {
        ObjectDisposedException.ThrowIf(_stopping.IsCancellationRequested, this);
        var buffer = ArrayPool<byte>.Shared.Rent(block.Length);
        block.Span.CopyTo(buffer);
        var hash = TlogRecord.HashOf(block.Span);
        var timestamp = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        lock (_gate)
        {
            var record = new TlogRecord
            {
                VdiskId = Options.VdiskId, Epoch = Options.Epoch, Sequence = ++_last, BlockIndex = blockIndex,
                TimestampMs = timestamp, Hash = hash, Data = buffer.AsMemory(0, block.Length),
            };
            _retained.Add(new PendingRecord(record, buffer));
            _retainedBytes += block.Length;
        }
        foreach (var link in _links) link.Wake();
        return ValueTask.CompletedTask;
    }

    /// <summary>Waits until everything appended so far is fsynced on k servers; throws <see cref="TlogNotDurableException"/> after the flush timeout.</summary>
    public Task FlushAsync(CancellationToken ct = default) => WaitDurableAsync(LastSequence, ct);

    private async Task WaitDurableAsync(long target, CancellationToken ct)
    {
        TaskCompletionSource done;
        lock (_gate)
        {
            if (_durable >= target) return;
            done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((target, done));
        }
        try
        {
            await done.Task.WaitAsync(Options.FlushTimeout, ct);
        }
        catch (TimeoutException)
        {
            lock (_gate) _waiters.RemoveAll(w => w.Done == done);
            throw new TlogNotDurableException(
                $"tlog for {Options.VdiskId}: sequence {target} not acknowledged by {Options.RequiredAcks} servers within {Options.FlushTimeout.TotalSeconds:0.#} s ({LiveServers} of {_links.Length} live)");
        }
    }

    /// <summary>A link (re)connected to a server that holds every sequence up to <paramref name="highest"/>; returns where it must resume sending.</summary>
    internal long Attach(int link, long highest)
    {
        lock (_gate)
        {
            var bit = 1UL << link;
            for (var seq = _firstRetained; seq <= Math.Min(highest, _last); seq++) At(seq).AckMask |= bit;
            AdvanceDurableAndTrim();
            var resume = Math.Max(highest + 1, _firstRetained);
            if (highest + 1 < _firstRetained && highest < _last)
                _logger.LogWarning("tlog server {Server} lacks {Vdisk} sequences {From}..{To}, no longer kept here; the other servers hold them",
                    Options.Servers[link], Options.VdiskId, highest + 1, _firstRetained - 1);
            return resume;
        }
    }

    internal void OnAck(int link, long sequence)
    {
        lock (_gate)
        {
            if (sequence < _firstRetained || sequence > _last) return;
            At(sequence).AckMask |= 1UL << link;
            AdvanceDurableAndTrim();
        }
    }

    /// <summary>Encodes the records from <paramref name="from"/> (at most <paramref name="max"/>) into a link's output; returns how many.</summary>
    internal int CopyForSending(long from, int max, IBufferWriter<byte> output)
    {
        // Under the lock: a record's pooled buffer is returned only under the lock too (trimming).
        lock (_gate)
        {
            var count = 0;
            for (var seq = Math.Max(from, _firstRetained); seq <= _last && count < max; seq++, count++)
                TlogFrames.WriteAppend(output, At(seq).Record);
            return count;
        }
    }

    internal long FirstRetained { get { lock (_gate) return _firstRetained; } }

    private PendingRecord At(long sequence) => _retained[_head + (int)(sequence - _firstRetained)];

    private void AdvanceDurableAndTrim()
    {
        var advanced = false;
        while (_durable < _last && BitOperations.PopCount(At(_durable + 1).AckMask) >= Options.RequiredAcks)
        {
            _durable++;
            advanced = true;
        }
        if (advanced)
        {
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Target > _durable) continue;
                _waiters[i].Done.TrySetResult();
                _waiters.RemoveAt(i);
            }
        }
        // Keep durable records until every server has them (to catch a restarted one up), within the byte budget.
        while (_firstRetained <= _durable)
        {
            var head = _retained[_head];
            if (head.AckMask != _allLinks && _retainedBytes <= Options.MaxRetainedBytes) break;
            _retainedBytes -= head.Record.Data.Length;
            ArrayPool<byte>.Shared.Return(head.Buffer);
            _retained[_head] = null!;
            _head++;
            _firstRetained++;
        }
        if (_head > 1024 && _head * 2 > _retained.Count)
        {
            _retained.RemoveRange(0, _head);
            _head = 0;
        }
    }

    internal CancellationToken Stopping => _stopping.Token;

    public async ValueTask DisposeAsync()
    {
        if (_stopping.IsCancellationRequested) return;
        await _stopping.CancelAsync();
        await Task.WhenAll(_links.Where(l => l is not null).Select(l => l.Completion));
        lock (_gate)
        {
            for (var i = _head; i < _retained.Count; i++) ArrayPool<byte>.Shared.Return(_retained[i].Buffer);
            _retained.Clear();
            foreach (var (_, done) in _waiters) done.TrySetException(new ObjectDisposedException(nameof(TlogWriter)));
            _waiters.Clear();
        }
        _stopping.Dispose();
    }

    private sealed class PendingRecord(TlogRecord record, byte[] buffer)
    {
        public TlogRecord Record { get; } = record;
        public byte[] Buffer { get; } = buffer;
        public ulong AckMask { get; set; }
    }
}
