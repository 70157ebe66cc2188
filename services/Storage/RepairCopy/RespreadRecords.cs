using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using ZeroDisk.Contracts;
using ZeroDisk.Storage.Failover;

namespace ZeroDisk.Storage.RepairCopy;

/// <summary>
/// A fresh process sees only durable truth for a respread: its completion is recorded on the engines before this process switches the vdisk's
/// view to the new homes, and a fresh <see cref="VdiskStorage"/> (a restarted server, a re-claimed lease, another
/// server) derives the view from that record, never from the etcd state alone. Without it a fresh process would read
/// the old surviving side again, and respread its older blocks over the client's newer writes and trims.
/// <para>
/// The record is <c>respread-done:&lt;vdiskID&gt;:&lt;dead engine&gt;</c> = the dead engine's identity marker (so a new
/// engine that later takes over the address is never mistaken for the one respread; prefixed with "done ", so an engine
/// without a registered marker still leaves a non-empty record). It is written, behind the
/// fence, first on the surviving side (the only engine holding the old blocks, so the only one that could serve them
/// stale), then on every other engine serving the vdisk, so a fresh process finds it even while the surviving side
/// is down. Reading it: the surviving side's answer is authoritative (written there first); if it does not answer,
/// a record on any other engine means done; otherwise the shard stays unresolved — its surviving side serves
/// nothing (EIO for the shard, which it would answer anyway with that side down) until the record can be read.
/// </para>
/// </summary>
internal sealed class RespreadRecords(IRepairTarget vdisk, IStderrEvents events, ILogger log)
{
    private readonly HashSet<int> _unresolved = [];

    public static RedisKey Key(string vdiskId, string deadAddress) => $"respread-done:{vdiskId}:{deadAddress}";

    /// <summary>Shards being respread whose record this process has not read yet.</summary>
    public IReadOnlySet<int> Unresolved
    {
        get { lock (_unresolved) return _unresolved.ToHashSet(); }
    }

    /// <summary>
    /// At open: every shard being respread is unresolved. Shards that enter the respread later need no record read:
    /// only the vdisk's owner writes the record, and this process owned the vdisk before the respread began.
    /// </summary>
    public void StartUnresolved(VdiskTopology topology)
    {
        lock (_unresolved)
            for (var k = 0; k < topology.ShardCount; k++)
                if (topology.IsRespreading(k)) _unresolved.Add(k);
    }

    /// <summary>
    /// Reads the record of each unresolved shard: done makes the shard's blocks live at their new homes (and repeats the
    /// completion line: the process that finished may have died before printing it); not done lets the surviving side
    /// serve and the respread go on from its cursor. Unreadable stays unresolved.
    /// </summary>
    public async Task ResolveAsync()
    {
        foreach (var shard in Unresolved)
        {
            var topology = vdisk.Topology;
            if (topology.RespreadDead(shard) is not { } dead)
            {
                Settle(shard, done: false); // rip or no longer respread: the record says nothing more than etcd
                continue;
            }
            switch (await ReadAsync(topology, dead))
            {
                case true:
                    log.LogInformation("vdisk {Vdisk}: the respread of {Engine}'s shard {Shard} is recorded done on the engines: its blocks live at their new homes",
                        vdisk.VdiskId, dead.Address, shard);
                    Settle(shard, done: true);
                    await Task.Yield(); // the line's incident is a blocking etcd read: never on a socket thread (Resp/RespConnection runs callers inline there)
                    events.Write(new RepairCompleteLine(RepairKind.Final, dead.Address, vdisk.VdiskId));
                    break;
                case false:
                    log.LogInformation("vdisk {Vdisk}: the respread of {Engine}'s shard {Shard} is not recorded done on its surviving side: it goes on from its cursor",
                        vdisk.VdiskId, dead.Address, shard);
                    Settle(shard, done: false);
                    break;
                default:
                    log.LogWarning("vdisk {Vdisk}: whether the respread of {Engine}'s shard {Shard} is done cannot be read yet (its surviving side does not answer); the shard serves nothing until it can",
                        vdisk.VdiskId, dead.Address, shard);
                    break;
            }
        }
    }

    private void Settle(int shard, bool done)
    {
        lock (_unresolved) _unresolved.Remove(shard);
        if (done) vdisk.MarkRespread(shard);
        else vdisk.RebuildTopology();
    }

    /// <summary>True: recorded done; false: not done (the surviving side says so); null: cannot tell now.</summary>
    private async Task<bool?> ReadAsync(VdiskTopology topology, EngineSlot dead)
    {
        var key = Key(vdisk.VdiskId, dead.Address);
        var expected = dead.Engine.ExpectedIdentity;
        var source = topology.Twin(dead);
        if (!source.Engine.IsFailed && source.State is not (EngineState.Rip or EngineState.RepairFinalOutage))
        {
            try
            {
                return Matches(await source.Db.StringGetAsync(key), expected);
            }
            catch (Exception ex) when (StorageEngines.IsEngineFailure(ex))
            {
                vdisk.Engines.ReportFailure(source.Engine, ex);
            }
        }
        foreach (var other in topology.Slots.Where(s => s.Use == SlotUse.Serve && !ReferenceEquals(s.Engine, source.Engine)).DistinctBy(s => s.Engine))
        {
            try
            {
                if (Matches(await other.Db.StringGetAsync(key), expected)) return true;
            }
            catch (Exception ex) when (StorageEngines.IsEngineFailure(ex))
            {
                vdisk.Engines.ReportFailure(other.Engine, ex);
            }
        }
        return null;
    }

    private static RedisValue Value(string identity) => "done " + identity;

    private static bool Matches(RedisValue record, string expectedIdentity) => record == Value(expectedIdentity);

    /// <summary>
    /// Records the respread of <paramref name="dead"/>'s shard as done: on the surviving side (must succeed: it is what
    /// a fresh process trusts), then on every other serving engine (best effort: only for availability).
    /// </summary>
    public async Task WriteAsync(EngineSlot dead, EngineSlot source)
    {
        var key = Key(vdisk.VdiskId, dead.Address);
        var value = Value(dead.Engine.ExpectedIdentity);
        await vdisk.Blocks.Fence.CommandAsync(source, "SET", [key], value);
        var others = vdisk.Topology.Slots.Where(s => s.Use == SlotUse.Serve && !ReferenceEquals(s.Engine, source.Engine)).DistinctBy(s => s.Engine);
        await Task.WhenAll(others.Select(async other =>
        {
            try
            {
                await vdisk.Blocks.Fence.CommandAsync(other, "SET", [key], value);
            }
            catch (Exception ex) when (StorageEngines.IsEngineFailure(ex))
            {
                log.LogWarning("vdisk {Vdisk}: respread record not written on {Engine} ({Reason}); the surviving side {Source} holds it",
                    vdisk.VdiskId, other.Address, ex.Message, source.Address);
            }
        }));
    }
}
