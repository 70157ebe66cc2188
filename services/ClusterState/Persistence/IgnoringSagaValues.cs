using System.Collections.Concurrent;
using Google.Protobuf;
using MassTransit;

namespace ZeroDisk.ClusterState.Persistence;

/// <summary>
/// The exact etcd value this process last read or committed of each saga whose state ignores a message kind (an
/// offline engine ignores failure reports). Such a message is then recorded as processed in one transaction that
/// compares the saga's value with the one remembered, instead of a read and then that transaction: etcd applies it
/// only while the saga is, byte for byte, the one judged, so nothing is decided on memory alone. When the compare
/// fails (another instance moved the saga, the message was processed already) the message goes the usual way, from a
/// read; a fresh process remembers nothing and reads. A value compare rather than a version one: a value is what was
/// judged, and it stays exact even if etcd, restored from a snapshot, hands out versions and revisions again.
/// </summary>
public sealed class IgnoringSagaValues<TSaga>(Func<TSaga, bool> ignores) where TSaga : class, ISaga
{
    /// <summary>Sagas remembered at most (a burst touches a few hundred engines); past it the memory starts again.</summary>
    public const int Capacity = 4096;

    private readonly ConcurrentDictionary<Guid, ByteString> _values = new();

    public bool Ignores(TSaga saga) => ignores(saga);

    /// <summary>The saga held <paramref name="value"/> in etcd (read, or committed by this process).</summary>
    public void Seen(TSaga saga, ByteString value)
    {
        if (!ignores(saga))
        {
            _values.TryRemove(saga.CorrelationId, out _);
            return;
        }
        if (_values.Count >= Capacity) _values.Clear();
        _values[saga.CorrelationId] = value;
    }

    public bool TryGet(Guid correlationId, out ByteString value) => _values.TryGetValue(correlationId, out value!);

    public void Forget(Guid correlationId) => _values.TryRemove(correlationId, out _);
}
