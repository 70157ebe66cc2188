using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using ZeroDisk.Contracts;
using ZeroDisk.NbdHost.Failover;
using ZeroDisk.NbdHost.Storage;

namespace ZeroDisk.NbdHost.Repair;

/// <summary>
/// repair-tmp-outage for one vdisk: copies the blocks in the returned engine's dirty set (kept on its twin) from the
/// twin to it, while I/O continues (new writes go to both). Each copy holds the block's lock, so it never overwrites
/// a newer write, and removes the block from the dirty set only after the copy: a crash resumes where it stopped.
/// Absent blocks are copied as deletes (invariant 4). When the set is empty the engine serves this vdisk again.
/// </summary>
internal sealed class TmpOutageRepair(VdiskStorage vdisk, string address, IStderrEvents events, StorageOptions options, ILogger log)
    : RepairRun(vdisk, options, log)
{
    private const int PageBatches = 4;

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
                await PauseAsync($"{address} is {target.Use} (failed again?) — waiting for etcd", ct);
                continue;
            }
            if (source.Use != SlotUse.Serve)
            {
                await PauseAsync($"the complete side {source.Address} is {source.Use}", ct);
                continue;
            }
            try
            {
                if (progress is null)
                {
                    progress = new RepairProgress(RepairKind.Tmp, Vdisk.VdiskId, address, Vdisk.BlockSize, Options.RepairProgressInterval, Log)
                    {
                        Total = await source.Db.SetLengthAsync(target.DirtyKey),
                    };
                    progress.Log("started");
                }
                // A page of several batches, RepairBatch copies in flight at any time: the pipeline to the engines
                // stays full instead of draining at the end of every batch.
                var page = await source.Db.SetRandomMembersAsync(target.DirtyKey, Options.RepairBatch * PageBatches);
                if (page.Length == 0) break;
                await Parallel.ForEachAsync(page, new ParallelOptions { MaxDegreeOfParallelism = Options.RepairBatch, CancellationToken = ct },
                    (b, _) => CopyAsync(source, target, (long)b));
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
        progress.Log("complete");
        events.Write(new RepairCompleteLine(RepairKind.Tmp, address, Vdisk.VdiskId));
    }

    private async ValueTask CopyAsync(EngineSlot source, EngineSlot target, long block)
    {
        var gate = Vdisk.Locks.For(block);
        await gate.WaitAsync();
        try
        {
            Lease<byte>? lease;
            try
            {
                lease = await source.Db.HashGetLeaseAsync(Vdisk.Blocks.BlocksKey, block);
            }
            catch (Exception ex) when (StorageEngines.IsEngineFailure(ex))
            {
                Vdisk.Engines.ReportFailure(source.Engine, ex);
                throw;
            }
            using (lease)
            {
                try
                {
                    await Vdisk.Blocks.Fence.WriteBlockAsync(target, block, lease?.Memory ?? ReadOnlyMemory<byte>.Empty);
                }
                catch (Exception ex) when (StorageEngines.IsEngineFailure(ex))
                {
                    Vdisk.Engines.ReportFailure(target.Engine, ex);
                    throw;
                }
            }
            // Only now is the block no longer stale on the target. Fenced too: a stale repairer must not clear a
            // block the new owner marked dirty again.
            await Vdisk.Blocks.Fence.CommandAsync(source, "SREM", [target.DirtyKey], block);
        }
        finally
        {
            gate.Release();
        }
    }
}
