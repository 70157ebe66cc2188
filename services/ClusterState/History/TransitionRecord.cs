namespace ZeroDisk.ClusterState.History;

/// <summary>One state change of a saga, with the trace that caused it (so an operator can open the incident's trace).</summary>
public sealed record TransitionRecord(string From, string To, DateTimeOffset At, string Reason, string? Incident, string? TraceId);

public static class TransitionHistory
{
    public static void Append(List<TransitionRecord> history, TransitionRecord record, int limit)
    {
        history.Add(record);
        if (history.Count > limit) history.RemoveRange(0, history.Count - limit);
    }

    public static string? CurrentTraceId() => System.Diagnostics.Activity.Current?.TraceId.ToString();
}
