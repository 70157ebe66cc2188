namespace ZeroDisk.Drill;

public enum OutageMode { Tmp, Final }
public enum FailedSide { Primary, Slave }

/// <summary>What the drill does: which outage, on which side, how long the load runs, how long to wait.</summary>
public sealed record DrillOptions(OutageMode Outage, FailedSide Side, TimeSpan Load, TimeSpan Timeout, string Configuration, bool CrashServer = false)
{
    /// <summary>How long a temporarily failed engine stays down.</summary>
    public TimeSpan Downtime { get; init; } = TimeSpan.FromSeconds(4);

    /// <summary>The scheduler's deadline: a permanent outage is recognised this long after the failure.</summary>
    public TimeSpan Deadline { get; init; } = TimeSpan.FromSeconds(12);
}
