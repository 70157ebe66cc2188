using ZeroDisk.ClusterState.Topology;

namespace ZeroDisk.ClusterState.StorageEngines;

/// <summary>
/// The topology read a failure report will need if it starts an incident, started by the ignored-report filter beside
/// its read of the saga instead of after it (the two round trips overlap), and taken once by the saga. It begins after
/// the report arrived, as the saga's own read would, and the commit compares the revisions it read as before. Set on
/// every attempt, so a retry never takes an older attempt's read.
/// </summary>
public sealed class TopologyReadAhead
{
    private Task<TopologySnapshot>? _read;

    public void Start(ClusterTopology topology, CancellationToken ct)
    {
        var read = topology.SnapshotAsync(ct);
        // Not taken when the report changes nothing: its failure is then nobody's.
        _ = read.ContinueWith(static r => _ = r.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        _read = read;
    }

    /// <summary>The read started for this attempt, once; otherwise null.</summary>
    public Task<TopologySnapshot>? Take() => Interlocked.Exchange(ref _read, null);
}
