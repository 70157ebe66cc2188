using System.Runtime.ExceptionServices;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using ZeroDisk.Storage.RepairCopy;

namespace ZeroDisk.Storage.Failover;

/// <summary>
/// At a takeover, before anything is served or repaired: every block in a durable recent-write window of the vdisk's
/// engines is made the same on every side that serves it. The previous owner may have ended between a write's two
/// sides: killed, or its owner lease ran out while one side's call waited its turn (that call is then never sent).
/// One side holds the write and the other does not, and nothing marked either dirty, since no engine failed. The
/// write was never acknowledged, so either content is right, but the sides must agree: reads come from the primary
/// while it serves and from the slave after it fails, and a block must never go back to older content then.
/// <list type="bullet">
/// <item>The content of the side reads come from (the primary, else the slave) is copied, where it differs, to the
/// block's other serving sides: its twin, and its new home's sides while its shard is respread.</item>
/// <item>A side being repaired or stale gets the block in its dirty set on its serving twin, so its repair copies it:
/// where it differs, when the side answers; else every such block.</item>
/// <item>Every engine that answers is asked for its window, the stale ones too: a side the previous owner wrote alone
/// before it failed may hold a write its twin lacks.</item>
/// </list>
/// Only reads until a block differs, and the copies keep the windows whole (<see cref="BlockCopyWriter"/>): a crash
/// halfway leaves the next owner the same windows to check again.
/// </summary>
internal sealed class TakeoverAgreement(string vdiskId, StorageEngines engines, MirroredBlocks blocks, ILogger log)
{
    public async Task RunAsync(VdiskTopology topology, int blockSize)
    {
        var (recent, answered) = await RecentBlocksAsync(topology);
        if (recent.Count == 0) return;
        var copies = new Dictionary<(EngineSlot From, EngineSlot To), List<long>>();
        var checks = new Dictionary<(EngineSlot Keeper, EngineSlot Side), List<long>>();
        var unserved = 0;
        foreach (var block in recent)
        {
            var shard = topology.ShardOf(block);
            var primary = topology.Slot(shard, ClusterSide.Primary);
            var from = primary.Use == SlotUse.Serve ? primary : topology.Twin(primary) is { Use: SlotUse.Serve } slave ? slave : null;
            if (from is null)
            {
                unserved++;
                continue;
            }
            Place(from, topology.Twin(from), block);
            var newHome = topology.RespreadTargetOf(block, shard);
            if (newHome < 0) continue;
            Place(from, topology.Slot(newHome, ClusterSide.Primary), block);
            Place(from, topology.Slot(newHome, ClusterSide.Slave), block);
        }

        void Place(EngineSlot from, EngineSlot side, long block)
        {
            if (side.Use == SlotUse.Serve) Add(copies, (from, side), block);
            else if (side.Use is SlotUse.RepairTarget or SlotUse.Stale && topology.Twin(side) is { Use: SlotUse.Serve } keeper) Add(checks, (keeper, side), block);
        }

        // The serving sides first: a side under repair is then checked against a keeper that already agrees with the rest.
        var blocksPerPass = BlockContents.BlocksPerComparison(blockSize);
        var copied = await Task.WhenAll(copies.Select(c => AgreeAsync(topology, c.Key.From, c.Key.To, c.Value, blocksPerPass)));
        var marked = await Task.WhenAll(checks.Select(c => answered.Contains(c.Key.Side)
            ? MarkDifferingAsync(c.Key.Keeper, c.Key.Side, c.Value, blocksPerPass)
            : MarkDirtyAsync(c.Key.Keeper, c.Key.Side, c.Value)));
        log.LogInformation("vdisk {Vdisk}: takeover: {Recent} blocks in the engines' recent-write windows checked on every side that holds them; " +
            "{Copied} differed between serving sides and were made the same; {Marked} marked dirty for sides under repair or stale; {Unserved} on shards no side serves",
            vdiskId, recent.Count, copied.Sum(), marked.Sum(), unserved);
    }

    private static void Add<TKey>(Dictionary<TKey, List<long>> groups, TKey key, long block) where TKey : notnull
    {
        if (!groups.TryGetValue(key, out var list)) groups[key] = list = [];
        list.Add(block);
    }

    /// <summary>
    /// The union of the engines' windows, and the slots that answered. One of a serving side or a repair target that
    /// does not answer is failed; a stale side that does not answer, or whose identity is not verified, adds nothing
    /// now, and its repair adds what of its own window differs when it starts.
    /// </summary>
    private async Task<(HashSet<long> Blocks, HashSet<EngineSlot> Answered)> RecentBlocksAsync(VdiskTopology topology)
    {
        var windows = await Task.WhenAll(topology.Slots
            // An engine whose identity marker is not verified is used for nothing, not even read (identity is checked, never assumed).
            .Where(s => s.Use is SlotUse.Serve or SlotUse.RepairTarget || s.Use == SlotUse.Stale && !s.Engine.IsFailed && s.Engine.IsVerified)
            .Select(async slot =>
            {
                try
                {
                    return (Slot: slot, Window: await slot.Db.SortedSetRangeByRankAsync(blocks.Fence.RecentKey));
                }
                catch (Exception ex) when (StorageEngines.IsEngineFailure(ex))
                {
                    if (slot.Use != SlotUse.Stale) engines.ReportFailure(slot.Engine, ex);
                    return (Slot: slot, Window: (RedisValue[]?)null);
                }
            }));
        return (windows.SelectMany(w => w.Window ?? []).Select(b => (long)b).ToHashSet(),
            windows.Where(w => w.Window is not null).Select(w => w.Slot).ToHashSet());
    }

    /// <summary>Marks dirty for a side under repair or stale the blocks where it differs from its serving twin; returns how many.</summary>
    private async Task<int> MarkDifferingAsync(EngineSlot keeper, EngineSlot side, List<long> recent, int blocksPerPass)
    {
        var marked = 0;
        for (var at = 0; at < recent.Count; at += blocksPerPass)
        {
            var pass = recent.GetRange(at, Math.Min(blocksPerPass, recent.Count - at));
            var compared = await BlockContents.CompareAsync(engines, keeper, side, blocks.BlocksKey, pass.Select(b => (RedisValue)b).ToArray());
            if (compared.FailedSide == keeper) return marked; // no side of the shard serves now: nothing to repair from
            if (compared.FailedSide == side) return marked + await MarkDirtyAsync(keeper, side, recent[at..]);
            marked += await MarkDirtyAsync(keeper, side, Array.ConvertAll(compared.Differing, i => pass[i]));
        }
        return marked;
    }

    /// <summary>Copies to <paramref name="to"/> what <paramref name="from"/> holds of the blocks where the two differ; returns how many did.</summary>
    private async Task<int> AgreeAsync(VdiskTopology topology, EngineSlot from, EngineSlot to, List<long> recent, int blocksPerPass)
    {
        var differed = 0;
        for (var at = 0; at < recent.Count; at += blocksPerPass)
        {
            var pass = recent.GetRange(at, Math.Min(blocksPerPass, recent.Count - at));
            var compared = await BlockContents.CompareAsync(engines, from, to, blocks.BlocksKey, pass.Select(b => (RedisValue)b).ToArray());
            if (compared.FailedSide == from)
            {
                // Its twin now serves these blocks alone, as it holds them: the failed side's repair copies them back.
                if (topology.Twin(from) == to) await MarkDirtyAsync(to, from, recent[at..]);
                return differed;
            }
            if (compared.FailedSide == to)
            {
                await MarkDirtyOnTwinAsync(topology, to, recent[at..]);
                return differed;
            }
            if (compared.Differing.Length == 0) continue;
            log.LogWarning("vdisk {Vdisk}: {Count} recently written block(s) differ between {From} and {To} (first {Block}): a write the previous owner " +
                "did not make on both sides; copying {From}'s content, before anything is served", vdiskId, compared.Differing.Length, from.Address, to.Address,
                pass[compared.Differing[0]], from.Address);
            var copied = Array.ConvertAll(compared.Differing, i => pass[i]);
            var (written, failure) = await BlockCopyWriter.WriteAsync(blocks.Fence, to, copied, Array.ConvertAll(compared.Differing, i => compared.From[i]), trimWindow: false);
            differed += copied.Length;
            if (failure is null) continue;
            if (blocks.Fence.IsTripped) return differed; // fenced out: the newer owner checks the windows itself
            if (!StorageEngines.IsEngineFailure(failure)) ExceptionDispatchInfo.Throw(failure);
            engines.ReportFailure(to.Engine, failure);
            await MarkDirtyOnTwinAsync(topology, to, [.. copied.Where((_, i) => !written[i]), .. recent.Skip(at + pass.Count)]);
            return differed;
        }
        return differed;
    }

    /// <summary>A side that failed while it was being made to agree: its serving twin records what it may lack.</summary>
    private Task<int> MarkDirtyOnTwinAsync(VdiskTopology topology, EngineSlot failed, IReadOnlyCollection<long> lacking) =>
        topology.Twin(failed) is { Use: SlotUse.Serve } keeper ? MarkDirtyAsync(keeper, failed, lacking) : Task.FromResult(0);

    /// <summary>Adds the blocks to the dirty set of <paramref name="stale"/> on <paramref name="keeper"/>; returns how many.</summary>
    private async Task<int> MarkDirtyAsync(EngineSlot keeper, EngineSlot stale, IReadOnlyCollection<long> lacking)
    {
        if (lacking.Count == 0) return 0;
        try
        {
            await blocks.MarkDirtyAsync(keeper, stale, lacking);
            return lacking.Count;
        }
        catch (StorageIoException ex)
        {
            log.LogError("vdisk {Vdisk}: takeover: could not record {Count} block(s) as dirty for {Stale} on {Keeper}: {Error}",
                vdiskId, lacking.Count, stale.Address, keeper.Address, ex.Message);
            return 0;
        }
    }
}
