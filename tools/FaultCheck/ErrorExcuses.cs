namespace ZeroDisk.FaultCheck;

/// <summary>
/// When an NBD error is allowed: only while no side of the block's shard could serve — both twins down and the repair
/// after them, etcd down or the owner lease revoked (ownership cannot be proven), an engine lost for good — and for a
/// grace after the fault healed. Healed means when it really did (a broker brought back by infra.sh can take half a
/// minute, not the schedule's second and a half). The repair after both twins is the control plane's decision: when
/// the broker, etcd, ClusterState, the scheduler or a log collector is down as the twins come back, that decision comes
/// once they are back (fault-check seed 7002: both twins killed while RabbitMQ was down; the engine that came back
/// complete was marked offline from its 25-second-old failure report once the broker returned, and one write failed
/// 20.3 s after the twins healed, 4 s before that engine's repair brought it online).
/// </summary>
public sealed class ErrorExcuses(IReadOnlyList<Fault> faults, IReadOnlyDictionary<int, TimeSpan> healedAt)
{
    public static readonly TimeSpan Grace = TimeSpan.FromSeconds(20);

    /// <summary>True when an error of an operation on <paramref name="shard"/> (-1: a flush, every shard) is allowed.</summary>
    public bool Excuse(int shard, TimeSpan invoked, TimeSpan completed) =>
        faults.Any(f => MayFailIo(f, shard) && f.At <= completed && invoked <= ExcusedUntil(f));

    /// <summary>When a fault really healed: its recorded end, never before the schedule's.</summary>
    public TimeSpan Healed(Fault f) => healedAt.TryGetValue(f.Index, out var at) && at > f.Heals ? at : f.Heals;

    private TimeSpan ExcusedUntil(Fault f)
    {
        var until = Healed(f) + Grace;
        if (!f.TakesBothTwins) return until;
        foreach (var outage in faults.Where(IsControlPlane).OrderBy(o => o.At))
            if (outage.At <= until && Healed(outage) >= f.At && Healed(outage) + Grace > until) until = Healed(outage) + Grace;
        return until;
    }

    private static bool MayFailIo(Fault f, int shard) =>
        f.TakesBothTwins && (shard < 0 || f.Shard == shard)
        || f.Kind is FaultKind.EtcdKill or FaultKind.OwnerLeaseLapse or FaultKind.EngineWipe or FaultKind.DeclarePermanent;

    private static bool IsControlPlane(Fault f) =>
        f.Kind is FaultKind.RabbitMqKill or FaultKind.EtcdKill or FaultKind.ClusterStateKill or FaultKind.SchedulerKill or FaultKind.CollectorKill;
}
