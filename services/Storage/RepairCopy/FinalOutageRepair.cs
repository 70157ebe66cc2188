using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using ZeroDisk.Contracts;
using ZeroDisk.Storage.Failover;

namespace ZeroDisk.Storage.RepairCopy;

/// <summary>
/// repair-final-outage for one vdisk ("respread"): every block of the dead engine's shard, enumerated from the
/// surviving side with HSCAN, is written to its new home (<see cref="ShardPlacement"/> with the shard counted as
/// rip) on primary and slave. New writes meanwhile go to the old surviving side and the new home; each page of
/// copies holds its blocks' locks and re-reads the blocks under them, so a newer write is never overwritten. The
/// HSCAN cursor is stored on the surviving side after each page, so a crash resumes there. Reads stay on the surviving side until
/// the respread is done; then its completion is recorded on the engines (<see cref="RespreadRecords"/>) before the view switches.
/// </summary>
internal sealed class FinalOutageRepair(IRepairTarget vdisk, string deadAddress, IStderrEvents events, StorageOptions options, ILogger log)
    : RepairRun(vdisk, options, log)
{
    public async Task RunAsync(CancellationToken ct)
    {
        RepairProgress? progress = null;
        EngineSlot dead;
        EngineSlot source;
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            var topology = Vdisk.Topology;
            if (FindSlot(topology, deadAddress) is not { } found || !topology.IsRespreading(found.Shard)) return;
            dead = found;
            source = topology.Twin(dead);
            if (source.AwaitsRespreadRecord && !source.Engine.IsFailed)
            {
                // The vdisk opened while the surviving side did not answer: read its record first (a fresh process sees only durable truth).
                await Vdisk.RespreadRecords.ResolveAsync();
                if (Vdisk.Topology.Twin(dead).AwaitsRespreadRecord) await PauseAsync($"the respread record on {source.Address} cannot be read yet", ct);
                continue;
            }
            if (source.Use != SlotUse.Serve)
            {
                await PauseAsync($"the surviving side {source.Address} of shard {dead.Shard} is {source.Use}", ct);
                continue;
            }
            var cursorKey = RedisKeys.RespreadCursor(Vdisk.VdiskId, deadAddress);
            try
            {
                var cursor = (long?)await source.Db.StringGetAsync(cursorKey) ?? 0;
                if (progress is null)
                {
                    progress = new RepairProgress(RepairKind.Final, Vdisk.VdiskId, deadAddress, Vdisk.BlockSize, Options.RepairProgressInterval, Log)
                    {
                        Total = await source.Db.HashLengthAsync(Vdisk.Blocks.BlocksKey),
                    };
                    progress.Log(cursor == 0 ? "started" : $"resumed at cursor {cursor}");
                }
                var scan = (RedisResult[])(await source.Db.ExecuteAsync("HSCAN", Vdisk.Blocks.BlocksKey, cursor, "COUNT", Options.RepairBatch))!;
                var next = (long)scan[0];
                var entries = (RedisValue[])scan[1]!;
                var blocks = new List<long>(entries.Length / 2);
                for (var i = 0; i < entries.Length; i += 2)
                    if (entries[i].TryParse(out long block) && topology.ShardOf(block) == dead.Shard) blocks.Add(block);
                await MovePageAsync(source, dead.Shard, blocks);
                progress.Copied(blocks.Count, (long)blocks.Count * Vdisk.BlockSize);
                Resumed();
                if (next == 0) break;
                await Vdisk.Blocks.Fence.CommandAsync(source, "SET", [cursorKey], next);
                await PaceAsync((long)blocks.Count * Vdisk.BlockSize, ct); // after the cursor: a stop while waiting loses no batch
            }
            catch (Exception ex) when (StorageEngines.IsEngineFailure(ex) || ex is StorageIoException && !Vdisk.IsFenced)
            {
                await PauseAsync($"moving blocks failed: {ex.Message}", ct);
            }
        }
        // A fresh process sees only durable truth: recorded on the engines before the view switches, so no fresh process respreads again over newer writes.
        await Vdisk.RespreadRecords.WriteAsync(dead, source);
        Vdisk.MarkRespread(dead.Shard);
        await CleanUpAsync(source);
        progress.Log("complete");
        await Task.Yield(); // the line's incident is a blocking etcd read: never on a socket thread (Resp/RespConnection runs callers inline there)
        events.Write(new RepairCompleteLine(RepairKind.Final, deadAddress, Vdisk.VdiskId));
    }

    /// <summary>
    /// Copies a page of blocks from the surviving side of their old shard to their new homes, holding all their locks
    /// from the read to the write and reading them under the locks (the values HSCAN returned may be older).
    /// </summary>
    private async Task MovePageAsync(EngineSlot source, int shard, List<long> blocks)
    {
        if (blocks.Count == 0) return;
        using var held = await Vdisk.Locks.AcquireAsync(blocks);
        var topology = Vdisk.Topology;
        if (topology.RespreadTargetOf(blocks[0], shard) < 0) return; // the respread was called off meanwhile
        var contents = await ReadBlocksAsync(source, blocks.Select(b => (RedisValue)b).ToArray());
        await Task.WhenAll(blocks.Select((block, i) =>
            Vdisk.Blocks.WriteShardAsync(topology, topology.RespreadTargetOf(block, shard), block, (byte[]?)contents[i] ?? ReadOnlyMemory<byte>.Empty).AsTask()));
    }

    /// <summary>The cursor and the dead engine's dirty set mean nothing once its shard lives elsewhere.</summary>
    private async Task CleanUpAsync(EngineSlot source)
    {
        try
        {
            await Vdisk.Blocks.Fence.CommandAsync(source, "DEL", [RedisKeys.RespreadCursor(Vdisk.VdiskId, deadAddress), RedisKeys.DirtyBlocks(Vdisk.VdiskId, deadAddress)]);
        }
        catch (Exception ex) when (StorageEngines.IsEngineFailure(ex))
        {
            Log.LogWarning(ex, "vdisk {Vdisk}: could not delete the respread bookkeeping of {Engine}", Vdisk.VdiskId, deadAddress);
        }
    }
}
