using ZeroDisk.ClusterState.Persistence;

namespace ZeroDisk.ClusterState.Rehearsal;

/// <summary>
/// What makes a saga session a rehearsal's: every transaction it commits also compares the value of a key nobody
/// writes (<paramref name="neverWrittenKey"/>, a start-up rehearsal's own) with a value nobody holds. etcd evaluates
/// the transaction — the same request, the same code on both sides — and applies none of it. Registered only in the
/// rehearsal's private container (<see cref="StartupRehearsal"/>), never in the service's.
/// </summary>
public sealed class RehearsalFence(string neverWrittenKey)
{
    private readonly string _neverHeld = Guid.NewGuid().ToString("N");

    public EtcdTransaction Close(EtcdTransaction transaction) => transaction.ExpectValue(neverWrittenKey, _neverHeld);
}
