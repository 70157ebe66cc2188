using ZeroDisk.Contracts;

namespace ZeroDisk.Storage.Failover;

/// <summary>
/// One vdisk's view of which failed engines were the last complete side of their shard (<see cref="ShardStallHealer"/>).
/// An engine that fails while its twin still serves is stale from then on (its missed blocks go to its dirty set on
/// the twin). One that fails while its twin is already failed or stale was the only side every acknowledged write
/// reached — complete — so if it answers again unchanged it may serve again. Both failing "at once" makes the later
/// one the complete side; the earlier one goes through the ordinary repair. The blocks written around the first
/// failure (the shard's recent-write window then) are kept here, because recording them on the twin may have failed
/// when the twin stalled too; they are recorded on the healed side before it serves.
/// </summary>
internal sealed class LastCompleteSides
{
    private readonly HashSet<string> _lastComplete = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<long>> _windowAtFailure = new(StringComparer.Ordinal);

    /// <summary>Notes the engine's failure; true when it was the last complete side of one of its shards (probe it).</summary>
    public bool NoteFailure(VdiskTopology topology, StorageEngine engine, Func<int, List<long>> recentWrites)
    {
        var last = false;
        var stale = false;
        foreach (var slot in topology.Slots.Where(s => ReferenceEquals(s.Engine, engine)))
        {
            if (!WasServing(slot)) continue;
            lock (_lastComplete) _windowAtFailure[slot.Address] = recentWrites(slot.Shard);
            var twin = topology.Twin(slot);
            // A twin that failed after this engine got the writes this one missed meanwhile: this one is stale.
            if (twin.Use == SlotUse.Serve || twin.Engine.IsFailed && twin.Engine.FailedSequence > engine.FailedSequence) stale = true;
            else last = true;
        }
        lock (_lastComplete)
        {
            if (last && !stale) _lastComplete.Add(engine.Address);
            else _lastComplete.Remove(engine.Address);
        }
        return last && !stale;
    }

    /// <summary>
    /// Whether every twin of <paramref name="engine"/> in this vdisk is down for real: failed here, or not serving by
    /// etcd. A twin that is only waiting for its identity check is not; a restarted engine is trusted as the last
    /// complete side only when its twins are down for real.
    /// </summary>
    public static bool TwinsAreDown(VdiskTopology topology, StorageEngine engine) =>
        topology.Slots.Where(s => ReferenceEquals(s.Engine, engine)).Select(topology.Twin)
            .All(twin => twin.Engine.IsFailed || !WasServing(twin));

    /// <summary>
    /// At a takeover, an engine this process holds failed from before the vdisk was opened here: the order of failures
    /// this process saw says nothing about this vdisk (none of its writes went anywhere yet), so etcd decides. Complete
    /// by etcd while its twin is down for real, it is the shard's only candidate: true (probe it), as for a last complete side.
    /// </summary>
    public bool NoteInheritedFailure(VdiskTopology topology, StorageEngine engine)
    {
        var last = topology.Slots.Any(s => ReferenceEquals(s.Engine, engine) && WasServing(s)) && TwinsAreDown(topology, engine);
        if (last)
            lock (_lastComplete) _lastComplete.Add(engine.Address);
        return last;
    }

    /// <summary>Complete for this vdisk by etcd (the process's failure flag aside).</summary>
    private static bool WasServing(EngineSlot slot) =>
        !slot.AwaitsRespreadRecord && (slot.State == EngineState.Online || slot.State == EngineState.RepairTmpOutage && slot.TmpRepaired);

    /// <summary>
    /// Whether <paramref name="engine"/> may serve this vdisk again: it does not use it, or it was the last complete side
    /// of its shard; then what its failed twin missed around its failure is recorded on it first (the dirty set is the truth).
    /// </summary>
    public async Task<bool> PrepareAsync(VdiskTopology topology, MirroredBlocks blocks, StorageEngine engine)
    {
        var slots = topology.Slots.Where(s => ReferenceEquals(s.Engine, engine)).ToList();
        if (slots.Count == 0) return true;
        lock (_lastComplete)
            if (!_lastComplete.Contains(engine.Address)) return false;
        foreach (var slot in slots)
        {
            var twin = topology.Twin(slot);
            if (twin.Use == SlotUse.Serve) return false; // the twin serves (healed first): this engine is the stale one now
            if (twin.State is EngineState.Rip or EngineState.RepairFinalOutage) continue;
            if (await MissedOnTwinAsync(slot, twin) is > 0) return false;
            List<long> missed;
            lock (_lastComplete) missed = _windowAtFailure.GetValueOrDefault(twin.Address) ?? [];
            try
            {
                await blocks.RecordDirtyAsync(slot, twin, missed); // with the shard's recent writes
            }
            catch (StorageIoException)
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>
    /// The blocks the twin records as missed by this engine, or null when the twin cannot be read (stalled too). An
    /// engine with any is stale whatever the order of failures says: a fresh process (seed 2045) saw the stale side fail
    /// only when it found that set, after etcd had made the complete side a repair target, and healed the stale side as
    /// the last complete one; the complete side was then "repaired" from it with older data.
    /// </summary>
    private static async Task<long?> MissedOnTwinAsync(EngineSlot slot, EngineSlot twin)
    {
        try
        {
            return await twin.Db.SetLengthAsync(slot.DirtyKey);
        }
        catch (Exception ex) when (StorageEngines.IsEngineFailure(ex))
        {
            return null;
        }
    }
}
