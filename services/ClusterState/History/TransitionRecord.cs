namespace ZeroDisk.ClusterState.History;

/// <summary>
/// One state change of a saga, with the trace (and span) that caused it: an operator opens the incident's trace from
/// it, and the reconciler republishes a lost change inside that trace.
/// </summary>
public sealed record TransitionRecord(string From, string To, DateTimeOffset At, string Reason, string? Incident, string? TraceId, string? SpanId = null)
{
    /// <summary>The span this transition happened in, as a remote parent; default when unknown (older records).</summary>
    public System.Diagnostics.ActivityContext TraceContext() =>
        TraceId is { Length: 32 } trace && SpanId is { Length: 16 } span
            ? new(System.Diagnostics.ActivityTraceId.CreateFromString(trace), System.Diagnostics.ActivitySpanId.CreateFromString(span),
                System.Diagnostics.ActivityTraceFlags.Recorded, isRemote: true)
            : default;
}

public static class TransitionHistory
{
    public static void Append(List<TransitionRecord> history, TransitionRecord record, int limit)
    {
        history.Add(record);
        if (history.Count > limit) history.RemoveRange(0, history.Count - limit);
    }

    public static string? CurrentTraceId() => System.Diagnostics.Activity.Current?.TraceId.ToString();

    public static string? CurrentSpanId() => System.Diagnostics.Activity.Current?.SpanId.ToString();
}
