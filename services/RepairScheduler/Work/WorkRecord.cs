using ZeroDisk.Contracts;

namespace ZeroDisk.RepairScheduler.Work;

/// <summary>The two kinds of long-running work the scheduler takes from the bus.</summary>
public enum WorkKind
{
    /// <summary>Probing an offline engine until its outage is classified.</summary>
    Analysis,
    /// <summary>Dispatching the repair of every affected vdisk nobody serves while the engine is in a repair state.</summary>
    Campaign,
}

/// <summary>
/// One piece of work as recorded in etcd before the message that started it is acknowledged (work taken from
/// the bus survives a crash): the transition that started it, the W3C trace context of that message (a resumed piece of work continues
/// the incident's trace), when it started (an analysis keeps its deadline across restarts) and, for a campaign, the
/// vdisks that reported completion (and were not reopened by a failed verification) and when each vdisk was last
/// dispatched (a resumed campaign does not dispatch again a job that is on its way).
/// </summary>
public sealed record WorkRecord
{
    public required StorageEngineStateChanged Change { get; init; }
    public string? TraceParent { get; init; }
    public required DateTimeOffset StartedAt { get; init; }
    public IReadOnlyList<string> Completed { get; init; } = [];
    public IReadOnlyDictionary<string, DateTimeOffset> Dispatched { get; init; } = new Dictionary<string, DateTimeOffset>();
}
