using Mvccpb;

namespace ZeroDisk.ClusterState.Persistence;

/// <summary>
/// The first read of a message's saga (processed? and the instance), made by a filter in front of the saga and handed
/// to the saga repository so it does not read the same two keys again (one etcd round trip per report). The filter
/// sets it on every attempt, right before the repository runs; the repository takes it once, so a retry never sees
/// an older attempt's read.
/// </summary>
public sealed class FirstSagaRead
{
    private (Guid MessageId, Guid CorrelationId, KeyValue? Saga)? _read;

    public void Set(Guid messageId, Guid correlationId, KeyValue? saga) => _read = (messageId, correlationId, saga);

    /// <summary>The read made for this message and saga in this attempt, once; otherwise false.</summary>
    public bool TryTake(Guid? messageId, Guid? correlationId, out KeyValue? saga)
    {
        saga = null;
        if (_read is not { } read) return false;
        _read = null;
        if (read.MessageId != messageId || read.CorrelationId != correlationId) return false;
        saga = read.Saga;
        return true;
    }
}
