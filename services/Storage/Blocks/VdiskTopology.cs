using StackExchange.Redis;
using ZeroDisk.Contracts;

namespace ZeroDisk.Storage;

public enum ClusterSide { Primary, Slave }

/// <summary>What one engine may be used for, for one vdisk, right now.</summary>
public enum SlotUse
{
    /// <summary>Complete for this vdisk: read from it, write to it.</summary>
    Serve,
    /// <summary>Being repaired: gets every write, serves no read until its repair is done.</summary>
    RepairTarget,
    /// <summary>Failed or offline: gets nothing; each block written meanwhile is recorded in its dirty set on the twin.</summary>
    Stale,
    /// <summary>Permanently gone (repair-final-outage or rip): its shard's blocks move to other shards.</summary>
    Gone,
}

/// <summary>One engine in its place: shard, side, database, the etcd state, and the Redis key of its dirty set.</summary>
/// <param name="AwaitsRespreadRecord">
/// The surviving side of a shard being respread, whose respread record this process has not read yet (a fresh process sees only durable truth):
/// if the respread is done, its blocks may be older than the new homes', so it serves nothing until the record is read.
/// </param>
public sealed record EngineSlot(StorageEngine Engine, IDatabase Db, EngineState State, int Shard, ClusterSide Side, RedisKey DirtyKey, bool TmpRepaired,
    bool AwaitsRespreadRecord = false)
{
    public string Address => Engine.Address;

    /// <summary>The data path's connection to this slot's database (block reads, fenced block writes).</summary>
    public Resp.RespConnection Data => Engine.DataPath(Db.Database);

    /// <summary>Connections to this slot's database lent to one writer at a time (fenced writes checked by WATCH).</summary>
    public Resp.ExclusiveConnections WatchedWrites => Engine.WatchedWritePath(Db.Database);

    /// <summary>
    /// Computed at each use: the engine's failure flag changes under the topology. An engine whose identity marker is
    /// not verified (identity is checked, never assumed) is used for nothing, like a failed one.
    /// </summary>
    public SlotUse Use => State switch
    {
        EngineState.Rip or EngineState.RepairFinalOutage => SlotUse.Gone,
        _ when Engine.IsFailed || !Engine.IsVerified || AwaitsRespreadRecord => SlotUse.Stale,
        EngineState.Online => SlotUse.Serve,
        EngineState.RepairTmpOutage => TmpRepaired ? SlotUse.Serve : SlotUse.RepairTarget,
        _ => SlotUse.Stale,
    };
}

/// <summary>
/// An immutable view of where a vdisk's blocks live: the engines of every shard with their states, which shards
/// are rip (or respread already by this process) and which are being respread. Rebuilt on every etcd change and
/// every repair completion; readers take the current one without a lock.
/// </summary>
public sealed class VdiskTopology
{
    private readonly EngineSlot[] _primary;
    private readonly EngineSlot[] _slave;
    private readonly bool[] _rip;
    private readonly bool _anyRip;
    private readonly bool[]?[] _ripDuringRespread;

    private VdiskTopology(EngineSlot[] primary, EngineSlot[] slave, bool[] rip, bool[]?[] ripDuringRespread)
    {
        _primary = primary;
        _slave = slave;
        _rip = rip;
        _anyRip = rip.Any(r => r);
        _ripDuringRespread = ripDuringRespread;
    }

    public int ShardCount => _primary.Length;

    public EngineSlot Slot(int shard, ClusterSide side) => side == ClusterSide.Primary ? _primary[shard] : _slave[shard];

    public EngineSlot Twin(EngineSlot slot) => Slot(slot.Shard, slot.Side == ClusterSide.Primary ? ClusterSide.Slave : ClusterSide.Primary);

    public IEnumerable<EngineSlot> Slots => _primary.Concat(_slave);

    public bool IsRip(int shard) => _rip[shard];

    /// <summary>Whether the shard's blocks are being moved to their new homes (one side repair-final-outage).</summary>
    public bool IsRespreading(int shard) => _ripDuringRespread[shard] is not null;

    /// <summary>The shard that holds <paramref name="block"/> now (placement via <see cref="ShardPlacement"/>).</summary>
    public int ShardOf(long block) =>
        _anyRip ? ShardPlacement.ShardOf(block, _rip) : ShardPlacement.HomeShard(block, _primary.Length);

    /// <summary>The engine of <paramref name="shard"/> that is gone for good (repair-final-outage) while the shard is respread, else null.</summary>
    public EngineSlot? RespreadDead(int shard) =>
        !IsRespreading(shard) ? null
        : _primary[shard].State == EngineState.RepairFinalOutage ? _primary[shard]
        : _slave[shard];

    /// <summary>The block's new home while its shard is respread, or -1 when its shard is not being respread.</summary>
    public int RespreadTargetOf(long block, int shard) =>
        _ripDuringRespread[shard] is { } rip ? ShardPlacement.ShardOf(block, rip) : -1;

    /// <param name="tmpRepaired">Engines whose repair-tmp-outage repair this process finished for the vdisk.</param>
    /// <param name="respread">Shards whose respread is done for the vdisk (finished here, or recorded on the engines).</param>
    /// <param name="unresolvedRespreads">Shards being respread whose record is not read yet: their surviving side serves nothing.</param>
    public static VdiskTopology Build(VdiskConfig config, StorageEngines engines, IReadOnlySet<string> tmpRepaired, IReadOnlySet<int> respread,
        IReadOnlySet<int>? unresolvedRespreads = null)
    {
        var n = config.ShardCount;
        EngineSlot MakeSlot(StorageServerConfig server, int shard, ClusterSide side)
        {
            var engine = engines.Get(server.Address);
            return new EngineSlot(engine, engine.Database(server.Db), server.State, shard, side,
                RedisKeys.DirtyBlocks(config.VdiskId, server.Address), tmpRepaired.Contains(server.Address));
        }
        var primary = config.Primary.Servers.Select((s, k) => MakeSlot(s, k, ClusterSide.Primary)).ToArray();
        var slave = config.Slave.Servers.Select((s, k) => MakeSlot(s, k, ClusterSide.Slave)).ToArray();
        foreach (var k in unresolvedRespreads ?? new HashSet<int>())
        {
            if (k >= n) continue;
            if (primary[k].State == EngineState.RepairFinalOutage) slave[k] = slave[k] with { AwaitsRespreadRecord = true };
            else if (slave[k].State == EngineState.RepairFinalOutage) primary[k] = primary[k] with { AwaitsRespreadRecord = true };
        }
        var rip = new bool[n];
        for (var k = 0; k < n; k++)
            rip[k] = primary[k].State == EngineState.Rip || slave[k].State == EngineState.Rip || respread.Contains(k);
        var during = new bool[]?[n];
        for (var k = 0; k < n; k++)
        {
            if (rip[k] || (primary[k].State != EngineState.RepairFinalOutage && slave[k].State != EngineState.RepairFinalOutage)) continue;
            var withThis = (bool[])rip.Clone();
            withThis[k] = true;
            if (withThis.All(r => r)) continue; // nowhere to move to
            during[k] = withThis;
        }
        return new VdiskTopology(primary, slave, rip, during);
    }
}
