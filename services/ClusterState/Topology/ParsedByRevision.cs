using Mvccpb;

namespace ZeroDisk.ClusterState.Topology;

/// <summary>
/// The values of etcd keys parsed once per mod revision: every incident reads the whole topology, and parsing every
/// cluster's config again (unchanged but for the one that failed) cost more than reading it. A value read at the
/// same mod revision is the same value, so reusing its parse is exact; only the last read's keys are kept.
/// </summary>
internal sealed class ParsedByRevision<T>(Func<string, T?> parse) where T : class
{
    private volatile Dictionary<string, (long Revision, T? Value)> _last = new(StringComparer.Ordinal);

    /// <summary>Each key with its parsed value (null when the value does not parse), in the order read.</summary>
    public List<(string Key, T? Value, long Revision)> Parse(IReadOnlyList<KeyValue> kvs)
    {
        var last = _last;
        var parsed = new Dictionary<string, (long Revision, T? Value)>(kvs.Count, StringComparer.Ordinal);
        var result = new List<(string, T?, long)>(kvs.Count);
        foreach (var kv in kvs)
        {
            var key = kv.Key.ToStringUtf8();
            var value = last.TryGetValue(key, out var known) && known.Revision == kv.ModRevision ? known.Value : parse(kv.Value.ToStringUtf8());
            parsed[key] = (kv.ModRevision, value);
            result.Add((key, value, kv.ModRevision));
        }
        _last = parsed;
        return result;
    }
}
