using System.Runtime.ExceptionServices;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using ZeroDisk.Contracts;
using ZeroDisk.Storage.Failover;

namespace ZeroDisk.Storage.RepairCopy;

/// <summary>
/// repair-tmp-outage for one vdisk: copies the blocks in the returned engine's dirty set (kept on its twin) from the
/// twin to it, while I/O continues (new writes go to both), a page of blocks at a time in parts. A page holds its
/// blocks' locks from the read to the SREM, so a copy never overwrites a newer write, and removes the blocks from the
/// dirty set only after they are copied: a crash resumes where it stopped, without copying again what was done.
/// Absent blocks are copied as deletes (deletes are data). When the set is empty the engine serves this vdisk again.
/// </summary>
internal sealed class TmpOutageRepair(IRepairTarget vdisk, string address, IStderrEvents events, StorageOptions options, ILogger log)
    : RepairRun(vdisk, options, log)
{
    private const int PageBatches = 4;
    // A page's reads and writes overlap in parts of this many blocks; 256 of 4 KiB make one 1 MiB script call to the
    // target (BlockCopyWriter), whose fixed costs (a call into Lua, an fsynced AOF write) then come half as often as
    // with 128, and the locks, held by the page, do not depend on it.
    private const int PartBlocks = 256;
    private readonly DirtyPages _pages = new(options.RepairBatch * PageBatches);

    public async Task RunAsync(CancellationToken ct)
    {
        RepairProgress? progress = null;
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            var topology = Vdisk.Topology;
            if (FindSlot(topology, address) is not { } target) return;
            var source = topology.Twin(target);
            if (target.Use != SlotUse.RepairTarget)
            {
                if (target.Use == SlotUse.Serve) return;
                ReportFailedAgain(target);
                await PauseAsync($"{address} is {target.Use} (failed again?) — waiting for etcd", ct);
                continue;
            }
            if (source.Use != SlotUse.Serve)
            {
                if (await WhyNotCompleteAsync(source, target) is not { } why) break;
                await PauseAsync($"the complete side {source.Address} is {source.Use}, and {address} cannot complete without it: {why}", ct);
                continue;
            }
            try
            {
                if (progress is null)
                {
                    await AddOwnWindowAsync(source, target);
                    progress = new RepairProgress(RepairKind.Tmp, Vdisk.VdiskId, address, Vdisk.BlockSize, Options.RepairProgressInterval, Log)
                    {
                        Total = await source.Db.SetLengthAsync(target.DirtyKey),
                    };
                    progress.Log("started");
                }
                var page = await _pages.NextAsync(source, target);
                if (page.Length == 0) break;
                await CopyPageAsync(source, target, page);
                progress.Copied(page.Length, (long)page.Length * Vdisk.BlockSize);
                Resumed();
                await PaceAsync((long)page.Length * Vdisk.BlockSize, ct);
            }
            catch (Exception ex) when (StorageEngines.IsEngineFailure(ex))
            {
                // Which side failed is recorded by the copy itself; the loop pauses on the next check.
                await PauseAsync($"copy failed: {ex.Message}", ct);
            }
        }
        Vdisk.MarkTmpRepaired(address);
        progress?.Log("complete");
        await Task.Yield(); // the line's incident is a blocking etcd read: never on a socket thread (Resp/RespConnection runs callers inline there)
        events.Write(new RepairCompleteLine(RepairKind.Tmp, address, Vdisk.VdiskId));
    }

    /// <summary>
    /// A returning engine may hold writes its twin lacks: the previous owner may have ended between a write's two
    /// sides with this one written, and nothing marked the block, since no engine had failed (a takeover reads a stale
    /// engine's window only when it answers). The blocks of its own durable recent-write window that differ from its
    /// twin's join its dirty set, so the repair gives it its twin's content of them.
    /// </summary>
    private async Task AddOwnWindowAsync(EngineSlot source, EngineSlot target)
    {
        RedisValue[] window;
        try
        {
            window = await target.Db.SortedSetRangeByRankAsync(Vdisk.Blocks.Fence.RecentKey);
        }
        catch (Exception ex) when (StorageEngines.IsEngineFailure(ex))
        {
            Vdisk.Engines.ReportFailure(target.Engine, ex);
            throw;
        }
        var differing = new List<long>();
        foreach (var pass in window.Chunk(BlockContents.BlocksPerComparison(Vdisk.BlockSize)))
        {
            var compared = await BlockContents.CompareAsync(Vdisk.Engines, source, target, Vdisk.Blocks.BlocksKey, pass);
            if (compared.Failure is { } failure) ExceptionDispatchInfo.Throw(failure);
            differing.AddRange(compared.Differing.Select(i => (long)pass[i]));
        }
        if (differing.Count == 0) return;
        // Mostly blocks written again on the twin while this engine was out (dirty already); any write an earlier owner
        // made on this side alone is among them.
        Log.LogInformation("vdisk {Vdisk}: {Count} block(s) of {Target}'s own recent-write window differ from {Source} (first {Block}): marked dirty, " +
            "so a write an earlier owner made on this side alone is repaired too", Vdisk.VdiskId, differing.Count, address, source.Address, differing[0]);
        await Vdisk.Blocks.MarkDirtyAsync(source, target, differing);
    }

    /// <summary>
    /// etcd repairs the target, which is failed here: if that failure's report was lost, or reached ClusterState before
    /// the repair began and was judged older than it (seed 2003: killed while its repair was being set up), nothing
    /// would ever change etcd's mind and this repair would wait for good. Reported again, with a fresh time, every
    /// <see cref="ReportAgainEvery"/> per engine while it lasts (every vdisk's repair asks; the engines throttle);
    /// ClusterState takes a fresh report during a repair as a new failure.
    /// </summary>
    private void ReportFailedAgain(EngineSlot target)
    {
        if (target.State == EngineState.RepairTmpOutage && target.Engine.IsFailed)
            Vdisk.Engines.ReportStillFailed(target.Engine, $"etcd repairs it for vdisk {Vdisk.VdiskId}, and it failed again here", ReportAgainEvery);
    }

    private static readonly TimeSpan ReportAgainEvery = TimeSpan.FromSeconds(10);

    /// <summary>
    /// A target whose dirty set is empty missed nothing: it is complete for this vdisk whatever became of its source,
    /// which it does not need then. This is how a shard heals when its two sides failed close together and the side
    /// etcd still repairs holds every write (the other stalled after this one's repair finished here, or after a
    /// fresh owner took the vdisk over, or failed first while etcd heard the reports in the other order): waiting for
    /// the source would leave the shard without a side for good. The set is read on the source only while it answers
    /// with its registered identity marker under one run_id before and after the read (a wiped or replaced engine's
    /// empty set proves nothing) — asked of the engine now, not of this process's flags: a source failed here (it
    /// restarted, or its check after the restart met it still loading its files) is still the engine it was, and a
    /// source that does not answer keeps the repair paused.
    /// </summary>
    /// <returns>Null when the target lacks nothing; else why that cannot be shown now (the pause says it).</returns>
    private async Task<string?> WhyNotCompleteAsync(EngineSlot source, EngineSlot target)
    {
        if (source.Use == SlotUse.Gone) return "its source is gone";
        long missed;
        try
        {
            var before = await EngineIdentityCheck.ReadRunIdAndMarkerAsync(source.Engine);
            if (before.Marker is not { Length: > 0 } marker || marker != source.Engine.ExpectedIdentity)
                return "its source does not answer with its registered identity marker (wiped or replaced), so its dirty set proves nothing";
            missed = await source.Db.SetLengthAsync(target.DirtyKey);
            if (await EngineIdentityCheck.ReadRunIdAndMarkerAsync(source.Engine) != before)
                return "its source restarted while its dirty set was read";
        }
        catch (Exception ex) when (StorageEngines.IsEngineFailure(ex))
        {
            return $"its dirty set on the source cannot be read: {ex.Message}";
        }
        if (missed != 0) return $"its dirty set on the source holds {missed} block(s)";
        Log.LogWarning("vdisk {Vdisk}: {Target} misses no block (its dirty set on {Source}, which answers with its identity marker, is empty): complete without a copy, though its source is {Use} here",
            Vdisk.VdiskId, address, source.Address, source.Use);
        return null;
    }

    /// <summary>
    /// Copies a page of distinct dirty blocks and removes them from the dirty set in one SREM, holding all their locks
    /// from the read to the SREM: a client write of one of them (which may fail on the target and mark it dirty again)
    /// waits for the page, so the SREM never removes a mark made after the copy, and the copy never overwrites a newer
    /// write. The page's stripes are taken at once, in ascending order like every holder of many stripes, so two pages
    /// (two shards' repairs of one vdisk share its stripes) never wait on each other in a cycle. One SREM per page, not
    /// per part: each SREM is an fsynced write that holds the source's event loop for about the length of an fsync,
    /// while the page's other parts wait there to read. Blocks whose copy failed stay dirty.
    /// </summary>
    private async Task CopyPageAsync(EngineSlot source, EngineSlot target, long[] page)
    {
        using var held = await Vdisk.Locks.AcquireAsync(page);
        // In parts, all at once: one part's reads from the source overlap another's writes to the target.
        var parts = page.Chunk(PartBlocks).Select(part => CopyPartAsync(source, target, part)).ToArray();
        try
        {
            await Task.WhenAll(parts);
        }
        catch
        {
            // Every part's outcome is read below: the blocks of those that were written still leave the dirty set.
        }
        var copied = parts.Where(p => p.IsCompletedSuccessfully).SelectMany(p => p.Result.Copied).ToArray();
        if (copied.Length > 0)
        {
            // Only now are these blocks no longer stale on the target. Fenced too: a stale repairer must not clear a
            // block the new owner marked dirty again.
            var members = Array.ConvertAll(copied, b => (RedisValue)b);
            Vdisk.Blocks.NoteRepairCopies(target.Shard, copied);
            await Vdisk.Blocks.Fence.SetMembersAsync(source, "SREM", target.DirtyKey, members);
            // The target failing meanwhile records the recent window, these blocks included, as dirty again; when
            // that SADD went out before this SREM, the SREM undid it: mark them again.
            if (target.Engine.IsFailed) await Vdisk.Blocks.Fence.SetMembersAsync(source, "SADD", target.DirtyKey, members);
        }
        if (parts.Select(p => p.IsCompletedSuccessfully ? p.Result.Failure : p.Exception?.InnerException).FirstOrDefault(f => f is not null) is { } failed)
            ExceptionDispatchInfo.Throw(failed);
    }

    /// <summary>
    /// Copies a part of a page (its locks held by the page) in a few pipelined HMGETs from the source and a few
    /// multi-block writes to the target; returns the blocks written, and the target's failure if a write failed.
    /// </summary>
    private async Task<(long[] Copied, Exception? Failure)> CopyPartAsync(EngineSlot source, EngineSlot target, long[] part)
    {
        var contents = await ReadBlocksAsync(source, Array.ConvertAll(part, b => (RedisValue)b));
        var (written, failed) = await BlockCopyWriter.WriteAsync(Vdisk.Blocks.Fence, target, part, contents);
        if (failed is not null && StorageEngines.IsEngineFailure(failed)) Vdisk.Engines.ReportFailure(target.Engine, failed);
        return (part.Where((_, i) => written[i]).ToArray(), failed);
    }
}
