using System.Buffers;
using Microsoft.Extensions.Logging;
using ZeroDisk.Contracts;
using ZeroDisk.Storage.Failover;
using ZeroDisk.Storage.RepairCopy;

namespace ZeroDisk.Storage;

/// <summary>
/// One vdisk's block storage: byte ranges become whole-block operations on <see cref="MirroredBlocks"/>, fired
/// concurrently and awaited together. Partial blocks are read-modify-written under the block's lock; all-zero
/// blocks are deleted. One instance per vdisk serves every connection (so writes are visible to all at once) and
/// runs the vdisk's repairs as etcd asks for them.
/// </summary>
public sealed class VdiskStorage : IStallAware, IRepairTarget
{
    private readonly StorageEngines _engines;
    private readonly IWriteJournal _journal;
    private readonly StorageOptions _options;
    private readonly ILogger _log;
    private readonly BlockLocks _locks;
    private readonly RecentWrites _recent;
    private readonly MirroredBlocks _blocks;
    private readonly EngineFence _fence;
    private readonly VdiskEngineTrust _trust;
    private readonly TakeoverAgreement _agreement;
    private readonly HashSet<StorageEngine> _fenceRaised = [];
    private readonly RepairCoordinator _repairs;
    private readonly RespreadRecords _respreadRecords;
    private readonly LastCompleteSides _lastComplete = new();
    private readonly HashSet<string> _tmpRepaired = new(StringComparer.Ordinal);
    private readonly HashSet<int> _respread = [];
    private readonly Lock _stateGate = new();
    private readonly IOwnerLease? _ownerLease;
    private readonly CancellationTokenRegistration _leaseLost;
    private readonly CancellationTokenSource _ended = new();
    private VdiskConfig _config;

    /// <param name="ownerEpoch">The epoch of this process's <c>&lt;vdiskID&gt;:vdisk:owner</c> (one writer per vdisk): the fence it raises and writes behind.</param>
    /// <param name="ownerLease">
    /// The lease that owner key is held under, if this process holds it (a repair-only process does not): from its
    /// local deadline on, nothing of the vdisk is served here, before etcd can give the key to another process.
    /// </param>
    public VdiskStorage(VdiskConfig config, long ownerEpoch, StorageEngines engines, IWriteJournal journal, StorageOptions options, IStderrEvents events,
        ILoggerFactory loggers, IOwnerLease? ownerLease = null)
    {
        _config = config;
        _engines = engines;
        _journal = journal;
        _options = options;
        _log = loggers.CreateLogger($"ZeroDisk.NbdHost.Vdisk.{config.VdiskId}");
        _locks = new BlockLocks(options.BlockLockStripes);
        _recent = new RecentWrites(config.ShardCount, options.RecentWriteWindow);
        _fence = new EngineFence(config.VdiskId, ownerEpoch, ownerLease, options.RecentWriteWindow);
        _trust = new VdiskEngineTrust(config.VdiskId, engines, _fence, _log);
        _fence.Tripped += OnFenced;
        _blocks = new MirroredBlocks(config.VdiskId, engines, _recent, _fence, _log);
        _agreement = new TakeoverAgreement(config.VdiskId, engines, _blocks, _log);
        _blocks.Topology = VdiskTopology.Build(config, engines, _tmpRepaired, _respread);
        _respreadRecords = new RespreadRecords(this, events, _log);
        _respreadRecords.StartUnresolved(_blocks.Topology); // a fresh process reads what a respread recorded
        RebuildTopology();
        _repairs = new RepairCoordinator(this, events, options, _log);
        engines.EngineFailed += OnEngineFailed;
        engines.EngineRestored += OnEngineRestored;
        engines.StallHealer.Register(this);
        _ownerLease = ownerLease;
        if (ownerLease is not null) _leaseLost = ownerLease.Lost.Register(_fence.CheckLease);
    }

    public string VdiskId => _config.VdiskId;
    public VdiskConfig Config => Volatile.Read(ref _config);
    public long Size => Config.Static.SizeBytes;
    public int BlockSize => Config.Static.BlockSize;
    public bool ReadOnly => Config.Static.ReadOnly;
    public bool CanMultiConn => true;
    public long BlockCount => Size / BlockSize;

    /// <summary>The engines and states this vdisk serves from now (a bench waits for an etcd change to land here).</summary>
    public VdiskTopology Topology => _blocks.Topology;
    internal MirroredBlocks Blocks => _blocks;
    internal BlockLocks Locks => _locks;
    internal StorageEngines Engines => _engines;
    internal RepairCoordinator Repairs => _repairs;
    internal RespreadRecords RespreadRecords => _respreadRecords;

    // What a repair may use of the vdisk (RepairCopy/IRepairTarget): the same members, nothing more.
    VdiskTopology IRepairTarget.Topology => Topology;
    MirroredBlocks IRepairTarget.Blocks => Blocks;
    BlockLocks IRepairTarget.Locks => Locks;
    StorageEngines IRepairTarget.Engines => Engines;
    RespreadRecords IRepairTarget.RespreadRecords => RespreadRecords;
    void IRepairTarget.MarkTmpRepaired(string address) => MarkTmpRepaired(address);
    void IRepairTarget.MarkRespread(int shard) => MarkRespread(shard);
    void IRepairTarget.RebuildTopology() => RebuildTopology();

    public long OwnerEpoch => _fence.Epoch;

    /// <summary>True once an engine showed a newer owner's fence: nothing of this vdisk is served here any more.</summary>
    public bool IsFenced => _fence.IsTripped;

    /// <summary>Raised once when the vdisk is fenced out, so whoever exports it stops doing so.</summary>
    public event Action<VdiskStorage>? Fenced;

    /// <summary>Cancelled by <see cref="EndConnections"/>: the NBD server then closes this instance's connections.</summary>
    public CancellationToken Ended => _ended.Token;

    /// <summary>Closes every NBD connection to this instance (clients that reconnect reach whatever serves the vdisk now).</summary>
    public void EndConnections() => _ = _ended.CancelAsync();

    /// <summary>
    /// Stops serving at once, as a fence would (every later engine command of this instance is refused, so no request
    /// already running writes after this), without the fenced-out alarm: the vdisk is let go on purpose (de-listed).
    /// </summary>
    public void StopServing(string reason)
    {
        _fence.Tripped -= OnFenced;
        _fence.Trip(reason);
    }

    /// <summary>
    /// Takes a new config from etcd: rebuilds the topology, verifies the engines (identity is checked, never assumed), checks dirty sets
    /// (the dirty set is the truth), starts or stops repairs. The first call refuses a vdisk that must not be opened here
    /// (<see cref="VdiskRefusedException"/>).
    /// </summary>
    public async Task ApplyAsync(VdiskConfig config)
    {
        VdiskTopology before;
        lock (_stateGate)
        {
            before = Topology;
            Volatile.Write(ref _config, config);
            // A finished tmp repair counts only while the engine stays in repair-tmp-outage; a new incident repairs again.
            foreach (var server in config.Primary.Servers.Concat(config.Slave.Servers))
                if (server.State != EngineState.RepairTmpOutage) _tmpRepaired.Remove(server.Address);
            RebuildTopology();
        }
        // Identity is checked, never assumed, and a fresh process sees only durable truth: identities verified (the first time: layout and restarts checked; throws VdiskRefusedException).
        // Engines failed here before the trust check: at a takeover, their first report went out while the vdisk was closed.
        var failedBeforeOpening = before.Slots.Where(s => s.Engine.IsFailed).Select(s => s.Engine).ToHashSet();
        var takeover = await _trust.CheckAsync(config, () => Topology);
        await _respreadRecords.ResolveAsync();
        await RaiseFencesAsync();
        if (IsFenced) return;
        await _trust.RecordAsync(config, Topology, takeover);
        if (takeover) ProbeInheritedFailures();
        await CheckDirtySetsAsync(before, takeover ? failedBeforeOpening : []);
        // The previous owner may have ended between a write's two sides: they agree before anything is served or
        // repaired. After the dirty sets are read: a side one of them names is stale, not a side to copy from.
        if (takeover) await _agreement.RunAsync(Topology, BlockSize);
        if (IsFenced) return;
        _repairs.Reconcile(Topology);
    }

    /// <summary>
    /// One writer per vdisk: raises the vdisk's fence to this owner's epoch on every engine it may write to, before writing,
    /// and again on an engine that failed meanwhile (a crash may have lost its fence key). An engine down now is
    /// raised when it is usable again (and the write script raises a lower fence itself).
    /// </summary>
    private async Task RaiseFencesAsync()
    {
        var topology = Topology;
        List<EngineSlot> pending;
        lock (_fenceRaised)
            pending = topology.Slots.Where(s => s.Use is SlotUse.Serve or SlotUse.RepairTarget && !_fenceRaised.Contains(s.Engine)).DistinctBy(s => s.Engine).ToList();
        await Task.WhenAll(pending.Select(async slot =>
        {
            try
            {
                if (!await _fence.RaiseAsync(slot)) return;
                lock (_fenceRaised) _fenceRaised.Add(slot.Engine);
            }
            catch (Exception ex) when (StorageEngines.IsEngineFailure(ex))
            {
                _engines.ReportFailure(slot.Engine, ex);
            }
        }));
    }

    private void OnFenced(string reason)
    {
        _log.LogCritical("vdisk {Vdisk} (owner epoch {Epoch}) FENCED OUT: {Reason}. Another process owns the vdisk now, or may at any moment; " +
            "this process stops serving it (its requests answer EIO)", VdiskId, OwnerEpoch, reason);
        Fenced?.Invoke(this);
    }

    /// <summary>A tmp repair finished: the engine is complete again for this vdisk.</summary>
    internal void MarkTmpRepaired(string address)
    {
        lock (_stateGate)
        {
            _tmpRepaired.Add(address);
            RebuildTopology();
        }
    }

    /// <summary>A respread finished: the shard's blocks live at their new homes for this vdisk.</summary>
    internal void MarkRespread(int shard)
    {
        lock (_stateGate)
        {
            _respread.Add(shard);
            RebuildTopology();
        }
    }

    internal void RebuildTopology()
    {
        lock (_stateGate) _blocks.Topology = VdiskTopology.Build(Config, _engines, _tmpRepaired, _respread, _respreadRecords.Unresolved);
    }

    /// <summary>
    /// The dirty set is the truth: a non-empty dirty set means its engine is stale for this vdisk whatever etcd says, so an engine
    /// etcd calls online but with dirty blocks is treated as failed and reported. The set is read on the twin whether the twin
    /// serves or is being repaired: a twin that finished its repair here, then served while this engine stalled, holds the only
    /// record that this engine missed writes, and a fresh process must not read those blocks from it. An engine failed here
    /// already is reported again while etcd still calls it online (its report may have been refused while its twin was not
    /// serving) when etcd brings that twin online, or, if it failed before this process opened the vdisk, when it opens
    /// it with the twin online already (seed 2042: the vdisk was fenced out while the twin came back, and nothing ever
    /// reported the stale side again): then the control plane can believe it.
    /// </summary>
    /// <param name="failedBeforeOpening">At the takeover, the engines that had failed here before it; else empty.</param>
    private async Task CheckDirtySetsAsync(VdiskTopology before, IReadOnlySet<StorageEngine> failedBeforeOpening)
    {
        var topology = Topology;
        var checks = topology.Slots
            .Where(slot => slot.State == EngineState.Online && slot.Use is SlotUse.Serve or SlotUse.Stale
                && topology.Twin(slot).Use is SlotUse.Serve or SlotUse.RepairTarget)
            .Select(async slot =>
            {
                var twin = topology.Twin(slot);
                try
                {
                    var stale = await twin.Db.SetLengthAsync(slot.DirtyKey);
                    if (stale == 0) return;
                    var reason = $"{stale} dirty blocks of vdisk {VdiskId} recorded on {twin.Address}";
                    if (!slot.Engine.IsFailed) _engines.ReportFailure(slot.Engine, reason);
                    else if (twin.State == EngineState.Online && (failedBeforeOpening.Contains(slot.Engine)
                                                                  || before.Slots.FirstOrDefault(s => s.Address == twin.Address)?.State != EngineState.Online))
                        _engines.ReportStillFailed(slot.Engine, $"{reason}; etcd calls it online, and {twin.Address} {(failedBeforeOpening.Contains(slot.Engine) ? "is online as this process opens the vdisk" : "has just been brought online")}");
                }
                catch (Exception ex) when (StorageEngines.IsEngineFailure(ex))
                {
                    _engines.ReportFailure(twin.Engine, ex);
                }
            });
        await Task.WhenAll(checks);
    }

    /// <summary>
    /// An engine is usable again, often after this vdisk applied etcd's change (the client reconnects later than etcd
    /// speaks): its run_id is recorded now, or the next owner would take the restart that etcd already covered for a
    /// new one and repair its recent writes again.
    /// </summary>
    private void OnEngineRestored(StorageEngine engine)
    {
        if (IsFenced || !Topology.Slots.Any(s => ReferenceEquals(s.Engine, engine))) return;
        _ = RecordRestoredAsync();
    }

    private async Task RecordRestoredAsync()
    {
        try
        {
            await _trust.RecordAsync(Config, Topology, takeover: false);
        }
        catch (Exception ex)
        {
            _log.LogWarning(ex, "vdisk {Vdisk}: could not record the run_id of an engine usable again; the next owner will repair its recent writes again", VdiskId);
        }
    }

    /// <summary>Another request (of any vdisk) saw the engine fail: record this vdisk's recent writes to it as dirty.</summary>
    private void OnEngineFailed(StorageEngine engine)
    {
        lock (_fenceRaised) _fenceRaised.Remove(engine);
        var topology = Topology;
        if (_lastComplete.NoteFailure(topology, engine, _recent.Snapshot)) _engines.StallHealer.Probe(engine);
        foreach (var slot in topology.Slots.Where(s => ReferenceEquals(s.Engine, engine)))
        {
            var twin = topology.Twin(slot);
            if (twin.Use != SlotUse.Serve) continue;
            _ = RecordWindowAsync(twin, slot);
        }
    }

    /// <summary>
    /// Engines that failed in this process before the vdisk was opened here (e.g. during start-up) and would be the only
    /// side of a shard by etcd: probed like a last complete side, or the shard would wait for a repair nobody can run.
    /// </summary>
    private void ProbeInheritedFailures()
    {
        var topology = Topology;
        foreach (var engine in topology.Slots.Select(s => s.Engine).Where(e => e.IsFailed).Distinct())
            if (_lastComplete.NoteInheritedFailure(topology, engine)) _engines.StallHealer.Probe(engine);
    }

    Task<bool> IStallAware.PrepareToServeAgainAsync(StorageEngine engine) => _lastComplete.PrepareAsync(Topology, _blocks, engine);

    bool IStallAware.TwinsAreDown(StorageEngine engine) => LastCompleteSides.TwinsAreDown(Topology, engine);

    private async Task RecordWindowAsync(EngineSlot survivor, EngineSlot stale)
    {
        try
        {
            await _blocks.RecordDirtyAsync(survivor, stale, []);
            await _trust.CopyWindowGuardedAsync(survivor, stale, all: false); // the engines' window: an earlier owner's writes too
        }
        catch (StorageIoException ex)
        {
            _log.LogError(ex, "could not record recent writes of vdisk {Vdisk} as dirty for {Engine}", VdiskId, stale.Address);
        }
    }

    public ValueTask ReadAsync(long offset, Memory<byte> buffer, CancellationToken ct)
    {
        CheckRange(offset, buffer.Length);
        if (buffer.Length == BlockSize && offset % BlockSize == 0) return ReadBlockAsync(offset / BlockSize, buffer);
        var (firstWhole, endWhole) = WholeBlocksIn(offset, buffer.Length);
        var read = endWhole - firstWhole >= 2
            ? ReadManyAsync(offset, buffer, firstWhole, endWhole)
            : ForEachBlockAsync(offset, buffer.Length, (block, inBlock, position, length) =>
                length == BlockSize
                    ? _blocks.ReadAsync(block, buffer.Slice(position, length))
                    : ReadPartAsync(block, inBlock, buffer.Slice(position, length)));
        return _ownerLease is null ? read : CheckOwnedAfterAsync(read);
    }

    /// <summary>
    /// One whole block, what most requests read: straight to <see cref="MirroredBlocks.ReadAsync"/> with no closure and
    /// no per-block fan-out (each async step of a 4 KiB read costs it an allocation and a resumption), riding through a
    /// stall and checked for ownership after it exactly as <see cref="ForEachBlockAsync"/> and <see cref="CheckOwnedAfterAsync"/> do.
    /// </summary>
    private async ValueTask ReadBlockAsync(long block, Memory<byte> into)
    {
        await RideThroughStallAsync(static read => read.Blocks.ReadAsync(read.Block, read.Into), (Blocks: _blocks, Block: block, Into: into));
        if (_ownerLease is not null) _fence.EnsureOwned();
    }

    /// <summary>The blocks the range covers whole: the first one and the one after the last (equal when none).</summary>
    private (long First, long End) WholeBlocksIn(long offset, long length)
    {
        var first = (offset + BlockSize - 1) / BlockSize;
        return (first, Math.Max(first, (offset + length) / BlockSize));
    }

    /// <summary>
    /// Bytes of whole blocks one request has out to the engines at once: each command's reply is buffered whole before it
    /// is copied, so a 32 MiB read goes in waves of this much, not all at once.
    /// </summary>
    private const int MaxBytesPerRead = 1 << 20;

    /// <summary>
    /// A read of several whole blocks: one engine command per shard (HMGET) for up to
    /// <see cref="StorageOptions.MaxBlocksInFlight"/> blocks, instead of one per block (the engines' and this server's
    /// cost per command dominated large reads), <see cref="MaxBytesPerRead"/> of them out at once; a partial block at
    /// either end is read on its own.
    /// </summary>
    private async ValueTask ReadManyAsync(long offset, Memory<byte> buffer, long firstWhole, long endWhole)
    {
        var blockSize = BlockSize;
        var perRead = Math.Max(1, Math.Min(_options.MaxBlocksInFlight, MaxBytesPerRead / blockSize));
        var readsInFlight = Math.Max(1, MaxBytesPerRead / (perRead * blockSize));
        var ends = new List<Task>(2);
        if (firstWhole * blockSize > offset)
            ends.Add(ForEachBlockAsync(offset, firstWhole * blockSize - offset, (block, inBlock, position, length) =>
                ReadPartAsync(block, inBlock, buffer.Slice(position, length))).AsTask());
        var tail = endWhole * blockSize;
        if (tail < offset + buffer.Length)
            ends.Add(ForEachBlockAsync(tail, offset + buffer.Length - tail, (block, inBlock, _, length) =>
                ReadPartAsync(block, inBlock, buffer.Slice((int)(tail - offset), length))).AsTask());
        var inFlight = new List<Task>(readsInFlight);
        for (var block = firstWhole; block < endWhole; block += perRead)
        {
            var count = (int)Math.Min(perRead, endWhole - block);
            inFlight.Add(RideThroughStallAsync((first, _, position, length) => _blocks.ReadManyAsync(first, length / blockSize, blockSize, buffer.Slice(position, length)),
                block, 0, (int)(block * blockSize - offset), count * blockSize).AsTask());
            if (inFlight.Count == readsInFlight)
            {
                await Task.WhenAll(inFlight);
                inFlight.Clear();
            }
        }
        await Task.WhenAll(inFlight.Concat(ends));
    }

    /// <summary>
    /// One writer per vdisk on this side, after a read (reads are not fenced on the engines): data is only answered if the lease
    /// was still held when it arrived, so no other owner can have written meanwhile. Before every engine read and write,
    /// <see cref="MirroredBlocks"/> checks the same.
    /// </summary>
    private async ValueTask CheckOwnedAfterAsync(ValueTask read)
    {
        await read;
        _fence.EnsureOwned();
    }

    public async ValueTask WriteAsync(long offset, ReadOnlyMemory<byte> data, bool fua, CancellationToken ct)
    {
        CheckWritable();
        CheckRange(offset, data.Length);
        await ForEachBlockAsync(offset, data.Length, (block, inBlock, position, length) =>
            length == BlockSize
                ? WriteWholeAsync(block, data.Slice(position, length))
                : ModifyPartAsync(block, inBlock, data.Slice(position, length)));
        if (fua) await _journal.FlushAsync(VdiskId);
    }

    /// <summary>
    /// Every write completed before the FLUSH is already fsynced on the engines (appendfsync always, enforced by
    /// <see cref="EngineDurabilityCheck"/>): only the tlog, if any, has more to make durable. Writes still in flight
    /// are not covered by a FLUSH (NBD protocol), and each of them is durable before its own reply.
    /// </summary>
    public ValueTask FlushAsync(CancellationToken ct) => _journal.FlushAsync(VdiskId);

    /// <summary>Whole blocks in the range are deleted; partial ones are left as they are (a trim is advisory).</summary>
    public async ValueTask TrimAsync(long offset, long length, bool fua, CancellationToken ct)
    {
        CheckWritable();
        CheckRange(offset, length);
        await ForEachBlockAsync(offset, length, (block, _, _, partLength) =>
            partLength == BlockSize ? WriteWholeAsync(block, ReadOnlyMemory<byte>.Empty) : ValueTask.CompletedTask);
        if (fua) await _journal.FlushAsync(VdiskId);
    }

    /// <summary>Zeroes are never stored: whole blocks are deleted, partial ones read-modify-written.</summary>
    public async ValueTask WriteZeroesAsync(long offset, long length, bool noHole, bool fua, CancellationToken ct)
    {
        CheckWritable();
        CheckRange(offset, length);
        await ForEachBlockAsync(offset, length, (block, inBlock, _, partLength) =>
            partLength == BlockSize ? WriteWholeAsync(block, ReadOnlyMemory<byte>.Empty) : ZeroPartAsync(block, inBlock, partLength));
        if (fua) await _journal.FlushAsync(VdiskId);
    }

    private async ValueTask ReadPartAsync(long block, int inBlock, Memory<byte> into)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BlockSize);
        try
        {
            await _blocks.ReadAsync(block, buffer.AsMemory(0, BlockSize));
            buffer.AsSpan(inBlock, into.Length).CopyTo(into.Span);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async ValueTask WriteWholeAsync(long block, ReadOnlyMemory<byte> content)
    {
        if (!content.IsEmpty && !content.Span.ContainsAnyExcept((byte)0)) content = ReadOnlyMemory<byte>.Empty;
        var gate = _locks.For(block);
        await gate.WaitAsync();
        try
        {
            await _blocks.WriteLockedAsync(block, content);
            await _journal.AppendAsync(VdiskId, OwnerEpoch, block, content);
        }
        finally
        {
            gate.Release();
        }
    }

    private ValueTask ModifyPartAsync(long block, int inBlock, ReadOnlyMemory<byte> part) =>
        ReadModifyWriteAsync(block, inBlock, part, part.Length);

    private ValueTask ZeroPartAsync(long block, int inBlock, int length) =>
        ReadModifyWriteAsync(block, inBlock, ReadOnlyMemory<byte>.Empty, length);

    /// <summary>Replaces <paramref name="length"/> bytes at <paramref name="inBlock"/> with <paramref name="part"/> (zeroes when empty).</summary>
    private async ValueTask ReadModifyWriteAsync(long block, int inBlock, ReadOnlyMemory<byte> part, int length)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BlockSize);
        var gate = _locks.For(block);
        await gate.WaitAsync();
        try
        {
            var whole = buffer.AsMemory(0, BlockSize);
            await _blocks.ReadAsync(block, whole);
            if (part.IsEmpty) whole.Span.Slice(inBlock, length).Clear();
            else part.Span.CopyTo(whole.Span[inBlock..]);
            ReadOnlyMemory<byte> content = whole.Span.ContainsAnyExcept((byte)0) ? whole : ReadOnlyMemory<byte>.Empty;
            await _blocks.WriteLockedAsync(block, content);
            await _journal.AppendAsync(VdiskId, OwnerEpoch, block, content);
        }
        finally
        {
            gate.Release();
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private delegate ValueTask BlockOperation(long block, int inBlock, int position, int length);

    /// <summary>Runs one operation per block touched by the range, up to <see cref="StorageOptions.MaxBlocksInFlight"/> at once.</summary>
    private async ValueTask ForEachBlockAsync(long offset, long length, BlockOperation operation)
    {
        if (length == 0) return;
        var blockSize = BlockSize;
        var first = offset / blockSize;
        var last = (offset + length - 1) / blockSize;
        if (first == last)
        {
            await RideThroughStallAsync(operation, first, (int)(offset - first * blockSize), 0, (int)length);
            return;
        }
        var inFlight = new List<Task>((int)Math.Min(last - first + 1, _options.MaxBlocksInFlight));
        for (var block = first; block <= last; block++)
        {
            var start = Math.Max(offset, block * blockSize);
            var end = Math.Min(offset + length, (block + 1) * blockSize);
            inFlight.Add(RideThroughStallAsync(operation, block, (int)(start - block * blockSize), (int)(start - offset), (int)(end - start)).AsTask());
            if (inFlight.Count == _options.MaxBlocksInFlight)
            {
                await Task.WhenAll(inFlight);
                inFlight.Clear();
            }
        }
        await Task.WhenAll(inFlight);
    }

    /// <summary>
    /// A block operation that failed because both sides of its shard are down is tried again each time an engine
    /// serves again after a stall, while the stall is younger than <see cref="ShardStallHealer.StallRideThrough"/>
    /// (transient double failures heal by themselves); whole-block writes and read-modify-writes are idempotent under the block's lock, so a retry is exact.
    /// </summary>
    private ValueTask RideThroughStallAsync(BlockOperation operation, long block, int inBlock, int position, int length) =>
        RideThroughStallAsync(static op => op.Operation(op.Block, op.InBlock, op.Position, op.Length),
            (Operation: operation, Block: block, InBlock: inBlock, Position: position, Length: length));

    /// <summary>The same for any operation, its arguments passed as <paramref name="state"/> (no closure).</summary>
    private async ValueTask RideThroughStallAsync<TState>(Func<TState, ValueTask> operation, TState state)
    {
        var healer = _engines.StallHealer;
        while (true)
        {
            var generation = healer.Generation;
            try
            {
                await operation(state);
                return;
            }
            catch (StorageIoException ex) when (ex.Error == StorageError.Unavailable && !IsFenced)
            {
                if (!await healer.WaitForHealAsync(generation)) throw;
            }
        }
    }

    private void CheckRange(long offset, long length)
    {
        if (offset < 0 || length < 0 || offset + length > Size)
            throw new StorageIoException(StorageError.OutOfRange, $"range {offset}+{length} is outside vdisk {VdiskId} of {Size} bytes");
    }

    private void CheckWritable()
    {
        if (ReadOnly) throw new StorageIoException(StorageError.ReadOnly, $"vdisk {VdiskId} is read-only");
    }

    /// <summary>
    /// Stops the vdisk's repairs and failure handling when it is no longer exported. Deliberately not
    /// IAsyncDisposable: the NBD server disposes a disposable export when its connection ends, and this one instance
    /// serves every connection.
    /// </summary>
    public async ValueTask CloseAsync()
    {
        _engines.EngineFailed -= OnEngineFailed;
        _engines.EngineRestored -= OnEngineRestored;
        _engines.StallHealer.Unregister(this);
        _fence.Tripped -= OnFenced;
        _leaseLost.Unregister(); // not Dispose: this may run from the lease callback's own chain
        await _repairs.DisposeAsync();
    }
}
