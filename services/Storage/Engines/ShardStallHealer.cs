using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using ZeroDisk.Contracts;

namespace ZeroDisk.Storage;

/// <summary>A vdisk that decides whether an engine that failed as the last complete side of its shards may serve again.</summary>
internal interface IStallAware
{
    /// <summary>
    /// True when <paramref name="engine"/> is complete for this vdisk wherever it sits (or the vdisk does not use it),
    /// after recording on it, durably, what its failed twins missed. False leaves it failed.
    /// </summary>
    Task<bool> PrepareToServeAgainAsync(StorageEngine engine);

    /// <summary>Whether every twin of <paramref name="engine"/> here is down for real (failed, or not serving by etcd), not only unverified.</summary>
    bool TwinsAreDown(StorageEngine engine);
}

/// <summary>
/// Transient double failures heal by themselves: both twins of a shard stalling for a moment (an AOF rewrite fork on both, CPU
/// starvation, <c>CLIENT PAUSE</c>) must not leave the shard failed until an operator edits etcd. When an engine fails
/// as the last complete side of a shard (its twin had failed already), this process keeps probing it; once it answers
/// with its identity marker and its durability settings, and every vdisk agrees it was the last complete side (and has
/// recorded its twin's missed blocks on it), it serves again — no etcd change needed. A new <c>run_id</c> (it
/// restarted) does not stop that: it fsyncs every write, and even if its disk lost some, no side holds more. The twin that failed first stays failed: its dirty set is
/// on the healed side, and the ordinary repair brings it back. Requests that hit the shard while both sides are down
/// wait up to <see cref="StallRideThrough"/> since the stall began for the heal, then get EIO.
/// </summary>
internal sealed class ShardStallHealer(StorageEngines engines, ILogger log)
{
    /// <summary>How long requests to a shard whose both sides failed wait for the last complete side to answer again.</summary>
    public static readonly TimeSpan StallRideThrough = TimeSpan.FromSeconds(10);

    private static readonly TimeSpan ProbeInterval = TimeSpan.FromMilliseconds(100);

    private readonly ConcurrentDictionary<StorageEngine, long> _probing = new();
    private readonly List<IStallAware> _vdisks = [];
    private readonly SemaphoreSlim _healing = new(1, 1); // one heal at a time: two twins never both decide they are the complete one
    private long _generation;

    /// <summary>Changes each time an engine is healed: a request that failed compares it with what it read before.</summary>
    public long Generation => Interlocked.Read(ref _generation);

    public void Register(IStallAware vdisk)
    {
        lock (_vdisks) _vdisks.Add(vdisk);
    }

    public void Unregister(IStallAware vdisk)
    {
        lock (_vdisks) _vdisks.Remove(vdisk);
    }

    /// <summary>The engine failed as the last complete side of a shard: probe it until it serves again or is given up.</summary>
    public void Probe(StorageEngine engine)
    {
        if (_probing.TryAdd(engine, Stopwatch.GetTimestamp())) _ = ProbeLoopAsync(engine, engine.RunId);
    }

    /// <summary>
    /// After a request failed with EIO: waits while a stall begun less than <see cref="StallRideThrough"/> ago is being
    /// probed, until an engine is healed. True when one was healed since <paramref name="generationBefore"/> (retry).
    /// </summary>
    public async Task<bool> WaitForHealAsync(long generationBefore)
    {
        var waiting = Stopwatch.GetTimestamp();
        while (true)
        {
            if (Generation != generationBefore) return true;
            var youngest = _probing.Values.DefaultIfEmpty(0).Max();
            var stallProbed = youngest != 0 && Stopwatch.GetElapsedTime(youngest) <= StallRideThrough;
            // A request that saw the engine fail just after another request marked it may get here before that one has
            // started the probe: give it a moment to appear.
            if (!stallProbed && Stopwatch.GetElapsedTime(waiting) > ProbeStartGrace) return Generation != generationBefore;
            await Task.Delay(20);
        }
    }

    private static readonly TimeSpan ProbeStartGrace = TimeSpan.FromMilliseconds(250);

    private async Task ProbeLoopAsync(StorageEngine engine, string? runIdAtFailure)
    {
        var gaveUp = false;
        try
        {
            while (engine.IsFailed && !gaveUp)
            {
                await Task.Delay(ProbeInterval);
                try
                {
                    await _healing.WaitAsync();
                    try
                    {
                        switch (await ProbeOnceAsync(engine, runIdAtFailure))
                        {
                            case ProbeVerdict.Heal:
                                if (engines.RestoreAfterStall(engine)) Interlocked.Increment(ref _generation);
                                return;
                            case ProbeVerdict.GiveUp:
                                gaveUp = true;
                                break;
                        }
                    }
                    finally
                    {
                        _healing.Release();
                    }
                }
                catch (Exception ex) when (StorageEngines.IsEngineFailure(ex))
                {
                    // Still stalled or away: probe again.
                }
            }
        }
        finally
        {
            _probing.TryRemove(engine, out _);
        }
    }

    private enum ProbeVerdict { NotYet, Heal, GiveUp }

    private async Task<ProbeVerdict> ProbeOnceAsync(StorageEngine engine, string? runIdAtFailure)
    {
        if (!engine.Connection.IsConnected) return ProbeVerdict.NotYet;
        var (runId, marker) = await EngineIdentityCheck.ReadRunIdAndMarkerAsync(engine);
        var restarted = runIdAtFailure is null || runId != runIdAtFailure;
        var expected = engine.ExpectedIdentity;
        if (expected.Length == 0 || marker != expected)
        {
            log.LogError("storage engine {Address} answers again, but its identity marker is missing, different or not registered: it stays failed", engine.Address);
            return ProbeVerdict.GiveUp;
        }
        if (await EngineDurabilityCheck.FindProblemAsync(engine) is { } notDurable)
        {
            log.LogError("storage engine {Address} answers again, but is not durable ({Problem}): it stays failed", engine.Address, notDurable);
            return ProbeVerdict.GiveUp;
        }
        List<IStallAware> vdisks;
        lock (_vdisks) vdisks = [.. _vdisks];
        if (restarted && !vdisks.All(v => v.TwinsAreDown(engine)))
        {
            log.LogWarning("storage engine {Address} answers again, but its run_id is {RunId}, not {Before}: it restarted while a twin of it was not down, " +
                "so that twin may hold writes it lost; it stays failed until a repair", engine.Address, runId, runIdAtFailure ?? "unknown");
            return ProbeVerdict.GiveUp;
        }
        foreach (var vdisk in vdisks)
            if (!await vdisk.PrepareToServeAgainAsync(engine)) return ProbeVerdict.NotYet;
        // It may have failed before this process ever verified it (during start-up): the marker just read counts.
        engine.MarkVerified(expected);
        if (restarted)
        {
            // Its twins failed before it, so no side holds more than it does: keeping it failed would leave the shards
            // without a side until an operator acts, and the control plane keeps it online for the same reason.
            log.LogError("storage engine {Address} answers again after a restart (run_id {Before} -> {RunId}) and was the last complete side of its shards: " +
                "nothing more complete exists, so it serves again without a repair. It fsyncs every write, so it lost nothing acknowledged unless its disk did",
                engine.Address, runIdAtFailure ?? "unknown", runId);
            engine.RunId = runId;
        }
        else
            log.LogWarning("storage engine {Address} answers again after a stall (same run_id and marker) and was the last complete side of its shards: it serves again without a repair",
                engine.Address);
        return ProbeVerdict.Heal;
    }
}
