using dotnet_etcd;
using Etcdserverpb;
using Google.Protobuf;
using Mvccpb;
using ZeroDisk.Contracts;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.Zdctl.Follow;

/// <summary>
/// Engine transitions as ClusterState commits them: every transition appends to the engine saga's history in the
/// same etcd transaction that changes the engine's state, so a watch on the saga keys sees each one exactly when
/// NBD servers do. The sagas are read once (at revision R), then watched from R+1: nothing is missed in between.
/// </summary>
public sealed class TransitionFollower(EtcdClient etcd, string endpoints, string scope)
{
    private static readonly string Prefix = EtcdKeys.SagaPrefix(EngineSagaRecord.SagaType);

    /// <summary>Per saga key, the last transition already seen.</summary>
    private readonly Dictionary<string, SagaTransition> _seen = new(StringComparer.Ordinal);

    /// <summary>The transitions recorded so far (oldest first) and the revision they were read at.</summary>
    public async Task<(IReadOnlyList<EngineTransition> Recorded, long Revision)> ReadRecordedAsync(CancellationToken ct)
    {
        var response = await etcd.GetAsync(new RangeRequest
        {
            Key = ByteString.CopyFromUtf8(Prefix),
            RangeEnd = ByteString.CopyFrom(EtcdWatch.PrefixEnd(Prefix)),
        }, cancellationToken: ct);
        var recorded = response.Kvs.SelectMany(NewTransitions).OrderBy(t => t.At).ToList();
        return (recorded, response.Header.Revision);
    }

    /// <summary>Calls <paramref name="onTransition"/> for every transition committed after <paramref name="revision"/>, until cancelled.</summary>
    public Task WatchAsync(long revision, Action<EngineTransition> onTransition, Action<Exception> onError, CancellationToken ct) =>
        EtcdWatch.RunAsync(endpoints, Prefix, prefix: true, revision + 1, (events, _) =>
        {
            foreach (var change in events)
            {
                if (change.Type == Event.Types.EventType.Delete) _seen.Remove(change.Kv.Key.ToStringUtf8());
                else foreach (var transition in NewTransitions(change.Kv)) onTransition(transition);
            }
            return Task.CompletedTask;
        }, ct, onError: onError);

    private IEnumerable<EngineTransition> NewTransitions(KeyValue kv)
    {
        var saga = ZeroDiskJson.Deserialize<EngineSagaRecord>(kv.Value.ToStringUtf8());
        if (saga.History.Count == 0 || !InScope(saga)) return [];
        var key = kv.Key.ToStringUtf8();
        var fresh = _seen.TryGetValue(key, out var last) ? After(saga.History, last) : saga.History;
        _seen[key] = saga.History[^1];
        return fresh.Select(record => EngineTransition.Of(saga, record)).ToList();
    }

    /// <summary>The records after the last one seen; the history is trimmed at its limit, so fall back to the time.</summary>
    private static IEnumerable<SagaTransition> After(List<SagaTransition> history, SagaTransition last) =>
        history.LastIndexOf(last) is var index and >= 0 ? history.Skip(index + 1) : history.Where(r => r.At > last.At);

    private bool InScope(EngineSagaRecord saga) => scope.Length == 0 || (saga.ClusterId?.StartsWith(scope, StringComparison.Ordinal) ?? false);
}
