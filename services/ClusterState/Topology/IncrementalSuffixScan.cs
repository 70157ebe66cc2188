using dotnet_etcd;
using Mvccpb;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.ClusterState.Topology;

/// <summary>
/// The topology scan, read in full once and afterwards by what changed since the last pass. A pass reads, at one
/// revision R after it started, the keys put since the last pass's revision R0 and how many keys each range holds.
/// If no key was deleted, the keys at R are exactly the last pass's keys with the changed ones put over them:
/// every key at R either changed (it is in the answer) or has a mod revision ≤ R0 (it held that value at R0), and the
/// count rules out deletions — deleted = count(R0) − changed keys created by R0 + changed keys − count(R), where a key
/// deleted and created again counts as new, so a deletion can only make the figure larger, never hide. Any deletion,
/// or a revision that went back (etcd restored from a snapshot), and the pass reads everything again. So a pass is
/// exactly what a full scan at R would read, as fresh as one; etcd still reads the range (it filters by revision after
/// reading) but sends and we parse only what changed. One pass at a time: <see cref="SharedFreshRead{T}"/> runs it.
/// </summary>
internal sealed class IncrementalSuffixScan(EtcdClient etcd, string scope, IReadOnlyList<string> suffixes)
{
    private sealed record Pass(long Revision, long[] RangeCounts, SortedDictionary<string, KeyValue>[] Matches);

    private Pass? _last;

    /// <summary>Passes that read the ranges in full (the first, and any after a deletion).</summary>
    public int FullScans { get; private set; }

    /// <summary>Element i: the keys ending with suffix i, in key order, as of one revision after this call began.</summary>
    public async Task<IReadOnlyList<KeyValue>[]> ReadAsync(CancellationToken ct)
    {
        if (_last is { } last && Apply(last, await etcd.ChangedSinceAsync(scope, last.Revision, ct)) is { } next)
        {
            _last = next;
            return [.. next.Matches.Select(m => (IReadOnlyList<KeyValue>)[.. m.Values])];
        }
        var full = await etcd.ScanSuffixesCountedAsync(scope, suffixes, ct);
        FullScans++;
        _last = new Pass(full.Revision, full.RangeCounts,
            [.. full.Matches.Select(m => new SortedDictionary<string, KeyValue>(m.ToDictionary(kv => kv.Key.ToStringUtf8()), StringComparer.Ordinal))]);
        return full.Matches;
    }

    /// <summary>The last pass with the changes put over it, or null when they cannot be applied (see the class).</summary>
    private Pass? Apply(Pass last, RangeChanges changes)
    {
        if (changes.Revision < last.Revision || changes.Ranges.Count != last.RangeCounts.Length) return null;
        for (var r = 0; r < changes.Ranges.Count; r++)
        {
            var range = changes.Ranges[r];
            var existedBefore = range.Changed.Count(kv => kv.CreateRevision <= last.Revision);
            if (last.RangeCounts[r] - existedBefore + range.Changed.Count != range.Count) return null;
        }
        var matches = last.Matches.Select(m => new SortedDictionary<string, KeyValue>(m, StringComparer.Ordinal)).ToArray();
        foreach (var kv in changes.Ranges.SelectMany(r => r.Changed))
        {
            var key = kv.Key.ToStringUtf8();
            for (var i = 0; i < suffixes.Count; i++)
                if (key.EndsWith(suffixes[i], StringComparison.Ordinal)) matches[i][key] = kv;
        }
        return new Pass(changes.Revision, [.. changes.Ranges.Select(r => r.Count)], matches);
    }
}
