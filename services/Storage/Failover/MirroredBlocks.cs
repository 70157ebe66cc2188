using System.Diagnostics;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using ZeroDisk.Storage.Resp;

namespace ZeroDisk.Storage.Failover;

/// <summary>
/// Whole-block reads and writes of one vdisk over its mirrored shards, with failover: a write goes to
/// both sides of the block's shard (and to its new home during a respread); a side that fails is marked failed
/// and the block recorded in its dirty set on the surviving side before the write is acknowledged; reads come
/// from the primary, else the slave, only ever from a complete side. EIO only when no complete side answers.
/// </summary>
internal sealed class MirroredBlocks(string vdiskId, StorageEngines engines, RecentWrites recent, EngineFence fence, ILogger log)
{
    private readonly RedisKey _blocksKey = RedisKeys.Blocks(vdiskId);

    // The key as bytes once: a RedisKey made from text is encoded into a new array each time it becomes a RespArg.
    private readonly byte[] _blocksKeyBytes = RedisKeys.Blocks(vdiskId)!;
    private static readonly byte[] Hget = "HGET"u8.ToArray();
    private VdiskTopology? _topology;

    public RedisKey BlocksKey => _blocksKey;

    public EngineFence Fence => fence;

    public VdiskTopology Topology
    {
        get => Volatile.Read(ref _topology) ?? throw new InvalidOperationException("no topology yet");
        set => Volatile.Write(ref _topology, value);
    }

    /// <summary>Reads one whole block into <paramref name="into"/> (zeroes when absent).</summary>
    public async ValueTask ReadAsync(long block, Memory<byte> into)
    {
        fence.EnsureOwned(); // fenced out or past the owner lease's deadline: another process may own the vdisk now
        var topology = Topology;
        var shard = topology.ShardOf(block);
        if (await TryReadFromAsync(topology.Slot(shard, ClusterSide.Primary), block, into)) return;
        if (await TryReadFromAsync(topology.Slot(shard, ClusterSide.Slave), block, into)) return;
        throw Unavailable(shard, "read");
    }

    /// <summary>
    /// Reads <paramref name="count"/> whole consecutive blocks from <paramref name="first"/> on into <paramref name="into"/>
    /// (zeroes where absent): one HMGET per shard, from its primary, else its slave, only ever from a complete side.
    /// </summary>
    public async ValueTask ReadManyAsync(long first, int count, int blockSize, Memory<byte> into)
    {
        fence.EnsureOwned();
        var topology = Topology;
        var byShard = new Dictionary<int, (List<long> Blocks, List<Memory<byte>> Into)>();
        for (var i = 0; i < count; i++)
        {
            var block = first + i;
            var shard = topology.ShardOf(block);
            if (!byShard.TryGetValue(shard, out var part)) byShard[shard] = part = ([], []);
            part.Blocks.Add(block);
            part.Into.Add(into.Slice(i * blockSize, blockSize));
        }
        var reads = new List<Task>(byShard.Count);
        foreach (var (shard, part) in byShard) reads.Add(ReadShardAsync(topology, shard, part.Blocks, [.. part.Into]));
        await Task.WhenAll(reads);
    }

    private async Task ReadShardAsync(VdiskTopology topology, int shard, List<long> blocks, Memory<byte>[] into)
    {
        if (await TryReadManyFromAsync(topology.Slot(shard, ClusterSide.Primary), blocks, into)) return;
        if (await TryReadManyFromAsync(topology.Slot(shard, ClusterSide.Slave), blocks, into)) return;
        throw Unavailable(shard, "read");
    }

    /// <summary>Reads blocks of one shard from a complete side in one HMGET; false when the side is not complete or fails now.</summary>
    private ValueTask<bool> TryReadManyFromAsync(EngineSlot slot, List<long> blocks, Memory<byte>[] into)
    {
        if (slot.Use != SlotUse.Serve) return ValueTask.FromResult(false);
        var command = new RespArg[2 + blocks.Count];
        command[0] = "HMGET";
        command[1] = _blocksKeyBytes;
        for (var i = 0; i < blocks.Count; i++) command[2 + i] = blocks[i];
        return TryOnEngineAsync(slot, "read", (Into: into, Command: command), static (slot, read) => slot.Data.ReadBulksIntoAsync(read.Into, read.Command));
    }

    /// <summary>Reads one block from a complete side; false when the side is not complete or fails now.</summary>
    public ValueTask<bool> TryReadFromAsync(EngineSlot slot, long block, Memory<byte> into) =>
        slot.Use != SlotUse.Serve
            ? ValueTask.FromResult(false)
            // Straight into the caller's buffer, on the data path's connection (no thread hop, no copy in between); absent: all zeroes.
            : TryOnEngineAsync(slot, "read", (Key: _blocksKeyBytes, Block: block, Into: into),
                static (slot, read) => slot.Data.ReadBulkIntoAsync(read.Into, Hget, read.Key, read.Block));

    /// <summary>
    /// Runs one block command on an engine, in its turn: false when the engine is marked failed (also while the command
    /// waited its turn) or fails now, which reports it.
    /// </summary>
    private async ValueTask<bool> TryOnEngineAsync<TState>(EngineSlot slot, string operation, TState state, Func<EngineSlot, TState, Task> command)
    {
        await slot.Engine.EnterAsync();
        try
        {
            if (slot.Engine.IsFailed) return false;
            var started = Stopwatch.GetTimestamp();
            await command(slot, state);
            StorageMetrics.Answered(slot.Engine, operation, started);
            return true;
        }
        catch (Exception ex) when (StorageEngines.IsEngineFailure(ex))
        {
            engines.ReportFailure(slot.Engine, ex);
            return false;
        }
        finally
        {
            slot.Engine.Exit();
        }
    }

    /// <summary>Writes one whole block (empty = all zeroes, stored as absent). The caller holds the block's lock.</summary>
    public ValueTask WriteLockedAsync(long block, ReadOnlyMemory<byte> content)
    {
        fence.EnsureOwned();
        var topology = Topology;
        var shard = topology.ShardOf(block);
        var newHome = topology.RespreadTargetOf(block, shard);
        return newHome < 0
            ? WriteShardAsync(topology, shard, block, content)
            : new ValueTask(Task.WhenAll(WriteShardAsync(topology, shard, block, content).AsTask(), WriteShardAsync(topology, newHome, block, content).AsTask()));
    }

    /// <summary>Writes one block to both sides of one shard. The caller holds the block's lock.</summary>
    public async ValueTask WriteShardAsync(VdiskTopology topology, int shard, long block, ReadOnlyMemory<byte> content)
    {
        var primary = topology.Slot(shard, ClusterSide.Primary);
        var slave = topology.Slot(shard, ClusterSide.Slave);
        var primaryUse = primary.Use;
        var slaveUse = slave.Use;
        if (primaryUse != SlotUse.Serve && slaveUse != SlotUse.Serve) throw Unavailable(shard, "write");
        recent.Add(shard, block);

        var primaryWrite = WriteSideAsync(primary, primaryUse, slave, slaveUse, block, content);
        var slaveWrite = WriteSideAsync(slave, slaveUse, primary, primaryUse, block, content);
        bool primaryOk, slaveOk;
        try
        {
            primaryOk = await primaryWrite;
        }
        finally
        {
            slaveOk = await slaveWrite; // a fenced write on one side must not leave the other unobserved
        }
        // Again now that the engines answered: under load a write may wait seconds for its turn, and what an engine
        // loses in a crash is counted back from its acknowledgement, not from the request. Before the failure checks
        // below, so an engine failed after them has the block in its window.
        recent.Add(shard, block);

        // A side that should have got the write but failed (or was marked failed meanwhile, and may lose it) is
        // stale for this block: record that on the complete side before acknowledging.
        var primaryLost = primaryUse is SlotUse.Serve or SlotUse.RepairTarget && (!primaryOk || primary.Engine.IsFailed);
        var slaveLost = slaveUse is SlotUse.Serve or SlotUse.RepairTarget && (!slaveOk || slave.Engine.IsFailed);
        var survivor = primaryUse == SlotUse.Serve && primaryOk && !primary.Engine.IsFailed ? primary
            : slaveUse == SlotUse.Serve && slaveOk && !slave.Engine.IsFailed ? slave
            : null;
        if (survivor is null) throw Unavailable(shard, "write");
        if (primaryLost) await RecordDirtyAsync(survivor, primary, [block]);
        if (slaveLost) await RecordDirtyAsync(survivor, slave, [block]);
    }

    /// <summary>
    /// Blocks a repair copied to one side of <paramref name="shard"/> join the shard's recent writes: the side may lose
    /// them in a crash right after (appendfsync everysec), once their dirty marks are gone (a crashed engine may have lost its last second).
    /// </summary>
    public void NoteRepairCopies(int shard, IEnumerable<long> blocks)
    {
        foreach (var block in blocks) recent.Add(shard, block);
    }

    /// <summary>
    /// Adds blocks, and the shard's recent writes (the engine may have lost them), to the dirty set of
    /// <paramref name="stale"/> on <paramref name="survivor"/>. Throws EIO when the survivor fails too.
    /// </summary>
    public ValueTask RecordDirtyAsync(EngineSlot survivor, EngineSlot stale, IEnumerable<long> blocks) =>
        MarkDirtyAsync(survivor, stale, blocks.Concat(recent.Snapshot(stale.Shard)));

    /// <summary>Adds exactly <paramref name="blocks"/> to the dirty set of <paramref name="stale"/> on <paramref name="survivor"/>. Throws EIO when the survivor fails.</summary>
    public async ValueTask MarkDirtyAsync(EngineSlot survivor, EngineSlot stale, IEnumerable<long> blocks)
    {
        var members = blocks.Distinct().Select(b => (RedisValue)b).ToArray();
        if (members.Length == 0) return;
        try
        {
            // A 64 MiB burst puts 16,384 blocks of a shard in the recent-write window: more than one call carries.
            await fence.SetMembersAsync(survivor, "SADD", stale.DirtyKey, members);
        }
        catch (Exception ex) when (StorageEngines.IsEngineFailure(ex))
        {
            engines.ReportFailure(survivor.Engine, ex);
            throw Unavailable(stale.Shard, "record dirty blocks for");
        }
    }

    private ValueTask<bool> WriteSideAsync(EngineSlot slot, SlotUse use, EngineSlot twin, SlotUse twinUse, long block, ReadOnlyMemory<byte> content)
    {
        if (use is not (SlotUse.Serve or SlotUse.RepairTarget)) return ValueTask.FromResult(false);
        // The twin gets nothing: this complete side remembers the block is stale there, in the same script.
        var twinDirty = use == SlotUse.Serve && twinUse == SlotUse.Stale ? (RedisKey?)twin.DirtyKey : null;
        return TryOnEngineAsync(slot, "write", (Fence: fence, Block: block, Content: content, TwinDirty: twinDirty),
            static (slot, write) => write.Fence.WriteBlockAsync(slot, write.Block, write.Content, write.TwinDirty));
    }

    private StorageIoException Unavailable(int shard, string what)
    {
        log.LogError("vdisk {Vdisk}: cannot {What} shard {Shard}: no complete side of it answers", vdiskId, what, shard);
        return new StorageIoException(StorageError.Unavailable, $"vdisk {vdiskId}: shard {shard} unavailable (both sides failed or stale)");
    }
}
