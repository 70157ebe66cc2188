using System.Diagnostics;

namespace ZeroDisk.RepairScheduler.Work;

/// <summary>The trace context a piece of work is recorded with, so its spans after a restart join the incident's trace.</summary>
public static class WorkTrace
{
    /// <summary>The W3C traceparent of the message being consumed (MassTransit's consume activity), or null.</summary>
    public static string? Capture() => Activity.Current is { IdFormat: ActivityIdFormat.W3C } current ? current.Id : null;

    public static ActivityContext Parent(string? traceParent) =>
        traceParent is not null && ActivityContext.TryParse(traceParent, null, out var context) ? context : default;
}
