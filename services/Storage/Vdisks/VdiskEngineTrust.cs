using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using ZeroDisk.Contracts;

namespace ZeroDisk.Storage;

/// <summary>A vdisk that must not be opened here: what it would be served from is not what its data was written to.</summary>
public sealed class VdiskRefusedException(string message) : Exception(message);

/// <summary>
/// What one vdisk's storage checks before it trusts its engines, and records for whoever owns the vdisk next
/// (identity is checked, never assumed; a fresh process sees only durable truth; docs/DECISIONS.md, "engine-trust"):
/// <list type="bullet">
/// <item>every engine's identity marker is verified before use (<see cref="EngineIdentityCheck"/>); a vdisk none of
/// whose engines has a registered marker is refused;</item>
/// <item>the layout the vdisk's blocks were written with (shards, blockSize) is recorded on its engines
/// (<see cref="RedisKeys.VdiskRecord"/>); a config that differs from it is refused, since it would read every block
/// from the wrong shard;</item>
/// <item>the run_id each usable engine had when an owner last verified it is recorded on both sides of its shard; a new owner
/// that finds a different run_id (the engine restarted since, e.g. with the crashed owner) fails it, and the twin's
/// durable recent-write window (<see cref="RedisKeys.RecentWrites"/>) goes into its dirty set: the writes it may have
/// lost are repaired, though the window of the process that made them died with it.</item>
/// </list>
/// </summary>
internal sealed class VdiskEngineTrust(string vdiskId, StorageEngines engines, EngineFence fence, ILogger log)
{
    private const string ShardsField = "shards";
    private const string BlockSizeField = "blockSize";
    private static string RunIdField(string address) => $"runid:{address}";

    // KEYS: fence, marker, recent window (on the survivor), dirty set of the stale twin. ARGV: epoch, marker, lowest
    // write time (ms) to copy ('-inf': all of it).
    private const string WindowToDirtyScript = """
        local fence = tonumber(redis.call('GET', KEYS[1]) or '0')
        if fence > tonumber(ARGV[1]) then return redis.error_reply('FENCED fence epoch ' .. fence .. ' > ' .. ARGV[1]) end
        if redis.call('GET', KEYS[2]) ~= ARGV[2] then return redis.error_reply('IDENTITY marker missing or different') end
        local blocks = redis.call('ZRANGEBYSCORE', KEYS[3], ARGV[3], '+inf')
        for i = 1, #blocks, 4096 do redis.call('SADD', KEYS[4], unpack(blocks, i, math.min(i + 4095, #blocks))) end
        return #blocks
        """;

    private readonly RedisKey _recordKey = RedisKeys.VdiskRecord(vdiskId);
    private readonly Dictionary<string, string> _recordedRunIds = new(StringComparer.Ordinal); // by this process, per address
    private readonly HashSet<string> _layoutRecorded = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private bool _opened;

    /// <summary>
    /// Before the fences are raised: verifies every engine's identity; on the first call (this process takes the vdisk
    /// over) refuses a vdisk without markers or with another layout, and fails engines that restarted since an owner
    /// last verified them.
    /// </summary>
    /// <returns>True for the first check (the takeover).</returns>
    public async Task<bool> CheckAsync(VdiskConfig config, Func<VdiskTopology> topology)
    {
        await _gate.WaitAsync();
        try
        {
            var slots = topology().Slots.ToList();
            if (!_opened && slots.All(s => s.Engine.ExpectedIdentity.Length == 0))
                throw new VdiskRefusedException($"vdisk {vdiskId}: no engine of its clusters has an identity marker registered in etcd " +
                    $"({EtcdKeys.EngineIdentity("<address>")}); an engine that cannot be verified is never used (identity is checked, never assumed). " +
                    "Register the clusters' markers, then the vdisk is served");
            await Task.WhenAll(slots.Select(s => s.Engine).Distinct().Select(engines.EnsureVerifiedAsync));
            if (_opened) return false;
            await CheckLayoutAsync(config, topology());
            await CheckRestartsAsync(topology());
            _opened = true;
            return true;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// After the fences are raised: records the layout and the run_ids this process verified, and, at the takeover,
    /// puts the durable window of every complete side into its failed twin's dirty set before anything is served.
    /// </summary>
    public async Task RecordAsync(VdiskConfig config, VdiskTopology topology, bool takeover)
    {
        await _gate.WaitAsync();
        try
        {
            if (takeover)
                await Task.WhenAll(topology.Slots.Where(s => s.Use == SlotUse.Stale && s.State != EngineState.Rip && topology.Twin(s).Use == SlotUse.Serve)
                    .Select(s => CopyWindowGuardedAsync(topology.Twin(s), s, all: true)));
            await Task.WhenAll(topology.Slots.Where(s => s.Use is SlotUse.Serve or SlotUse.RepairTarget).Select(s => RecordSlotAsync(config, topology, s)));
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Adds <paramref name="survivor"/>'s durable recent-write window to <paramref name="stale"/>'s dirty set on it:
    /// the blocks the stale engine may have lost in its last second, whoever wrote them. A failure seen now takes the
    /// blocks written within the window before now; a takeover (<paramref name="all"/>) the whole window, which ends
    /// at the last write before the crash, however long ago that was.
    /// </summary>
    public async Task CopyWindowAsync(EngineSlot survivor, EngineSlot stale, bool all)
    {
        RedisValue since = all ? "-inf" : DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - (long)fence.RecentWindow.TotalMilliseconds;
        var copied = (long)await fence.EvaluateFencedAsync(survivor, WindowToDirtyScript, [fence.RecentKey, stale.DirtyKey], [since]);
        if (copied > 0)
            log.LogInformation("vdisk {Vdisk}: {Count} recently written blocks recorded on {Survivor} as dirty for {Stale} (durable window)",
                vdiskId, copied, survivor.Address, stale.Address);
    }

    /// <summary><see cref="CopyWindowAsync"/>; a failure of the survivor fails it.</summary>
    public async Task CopyWindowGuardedAsync(EngineSlot survivor, EngineSlot stale, bool all)
    {
        try
        {
            await CopyWindowAsync(survivor, stale, all);
        }
        catch (Exception ex) when (StorageEngines.IsEngineFailure(ex))
        {
            engines.ReportFailure(survivor.Engine, ex);
        }
    }

    /// <summary>Refuses a config whose shard count or block size differs from what the engines recorded for the vdisk.</summary>
    private async Task CheckLayoutAsync(VdiskConfig config, VdiskTopology topology)
    {
        foreach (var slot in topology.Slots.Where(s => s.Use is SlotUse.Serve or SlotUse.RepairTarget))
        {
            RedisValue[] recorded;
            try
            {
                recorded = await slot.Db.HashGetAsync(_recordKey, [ShardsField, BlockSizeField]);
            }
            catch (Exception ex) when (StorageEngines.IsEngineFailure(ex))
            {
                engines.ReportFailure(slot.Engine, ex);
                continue;
            }
            if (recorded[0].HasValue && (long)recorded[0] != config.ShardCount)
                throw new VdiskRefusedException($"vdisk {vdiskId}: its blocks were written over {(long)recorded[0]} shards (recorded on {slot.Address}), " +
                    $"but its clusters now have {config.ShardCount} servers: every block would be looked for on the wrong shard. Refused; " +
                    "restore the clusters' size (moving a vdisk's blocks to another shard count is a migration, not a config change)");
            if (recorded[1].HasValue && (long)recorded[1] != config.Static.BlockSize)
                throw new VdiskRefusedException($"vdisk {vdiskId}: its blocks were written with blockSize {(long)recorded[1]} (recorded on {slot.Address}), " +
                    $"but its config now says {config.Static.BlockSize}. Refused");
        }
    }

    /// <summary>
    /// A fresh process sees only durable truth at a takeover: an engine whose run_id is not the one an owner last verified (as recorded on its twin,
    /// else on itself) restarted since; it may have lost its last second of writes, and the process that knew which
    /// died (lease lapsed, not released). Failed and reported; its twin's durable window becomes its dirty set.
    /// </summary>
    private async Task CheckRestartsAsync(VdiskTopology topology)
    {
        var restarted = new List<EngineSlot>();
        foreach (var slot in topology.Slots.Where(s => s.Use is SlotUse.Serve or SlotUse.RepairTarget))
        {
            var twin = topology.Twin(slot);
            var recorded = await ReadRecordedRunIdAsync(twin, slot) ?? await ReadRecordedRunIdAsync(slot, slot);
            if (recorded is null || slot.Engine.RunId is not { } now || recorded == now) continue;
            log.LogWarning("vdisk {Vdisk}: engine {Address} has run_id {Now}, but its owner last verified it under {Recorded}: it restarted since " +
                "and may lack the last writes acknowledged before (a fresh process sees only durable truth)", vdiskId, slot.Address, now, recorded);
            restarted.Add(slot);
        }
        foreach (var slot in restarted)
        {
            var twin = topology.Twin(slot);
            if (restarted.Contains(twin))
            {
                // Nothing complete to repair from: both keep serving what they have, and the loss is said out loud.
                log.LogError("vdisk {Vdisk}: both engines of shard {Shard} ({A}, {B}) restarted since the last owner verified them: " +
                    "writes of their last second before may be lost on both; serving what they hold", vdiskId, slot.Shard, slot.Address, twin.Address);
                continue;
            }
            if (slot.Use == SlotUse.Serve && twin.Use != SlotUse.Serve)
                // The last side of its shard: failing it would leave the shard without one, and nothing holds more.
                log.LogError("vdisk {Vdisk}: engine {Address} restarted since the last owner verified it, but its twin {Twin} cannot serve ({Use}): " +
                    "it is the shard's only copy and keeps serving; writes of its last second before the restart are lost if its disk lost them",
                    vdiskId, slot.Address, twin.Address, twin.Use);
            else if (slot.Use == SlotUse.Serve)
                engines.ReportFailure(slot.Engine, $"restarted since an owner of vdisk {vdiskId} last verified it (run_id {slot.Engine.RunId}); " +
                    "it may lack acknowledged writes");
            else if (twin.Use == SlotUse.Serve)
                await CopyWindowGuardedAsync(twin, slot, all: true); // being repaired already: the repair copies the window too
        }
    }

    private async Task<string?> ReadRecordedRunIdAsync(EngineSlot on, EngineSlot of)
    {
        if (on.Use is not (SlotUse.Serve or SlotUse.RepairTarget)) return null;
        try
        {
            return await on.Db.HashGetAsync(_recordKey, RunIdField(of.Address));
        }
        catch (Exception ex) when (StorageEngines.IsEngineFailure(ex))
        {
            engines.ReportFailure(on.Engine, ex);
            return null;
        }
    }

    /// <summary>
    /// Records the layout on a usable engine, and its verified run_id on it and its twin, once per value. A repair
    /// target's too: its dirty set says what it lacks, the run_id that it has not lost more since.
    /// </summary>
    private async Task RecordSlotAsync(VdiskConfig config, VdiskTopology topology, EngineSlot slot)
    {
        bool layoutDone;
        lock (_layoutRecorded) layoutDone = _layoutRecorded.Contains(slot.Address);
        if (!layoutDone && await TryRecordAsync(slot, ShardsField, config.ShardCount, BlockSizeField, config.Static.BlockSize))
            lock (_layoutRecorded) _layoutRecorded.Add(slot.Address);
        if (slot.Engine.RunId is not { } runId) return;
        lock (_recordedRunIds)
            if (_recordedRunIds.TryGetValue(slot.Address, out var done) && done == runId) return;
        var twin = topology.Twin(slot);
        if (!await TryRecordAsync(slot, RunIdField(slot.Address), runId)) return;
        if (twin.Use is SlotUse.Serve or SlotUse.RepairTarget && !await TryRecordAsync(twin, RunIdField(slot.Address), runId)) return;
        lock (_recordedRunIds) _recordedRunIds[slot.Address] = runId;
    }

    /// <summary>HSETs fields of the vdisk's record on one engine, behind the fence and the marker; false (and the engine failed) when it fails.</summary>
    private async Task<bool> TryRecordAsync(EngineSlot slot, params RedisValue[] fieldsAndValues)
    {
        try
        {
            await fence.CommandAsync(slot, "HSET", [_recordKey], fieldsAndValues);
            return true;
        }
        catch (Exception ex) when (StorageEngines.IsEngineFailure(ex))
        {
            engines.ReportFailure(slot.Engine, ex);
            return false;
        }
    }
}
