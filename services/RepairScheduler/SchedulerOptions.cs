namespace ZeroDisk.RepairScheduler;

/// <summary>Timings of outage analysis, repair dispatch and restarts (section "Scheduler" of configuration).</summary>
public sealed class SchedulerOptions
{
    public const string Section = "Scheduler";

    /// <summary>While the outage is younger than this, probe fast: most outages are reboots and restarts.</summary>
    public TimeSpan GracePeriod { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Not back by then: the outage is permanent.</summary>
    public TimeSpan Deadline { get; set; } = TimeSpan.FromMinutes(10);

    public TimeSpan ProbeInterval { get; set; } = TimeSpan.FromMilliseconds(500);
    public TimeSpan MaxProbeInterval { get; set; } = TimeSpan.FromSeconds(10);
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Good probes in a row (marker intact) that classify an outage temporary at once.</summary>
    public int GoodProbesForTemporary { get; set; } = 3;

    /// <summary>How often a repair campaign looks for vdisks that nobody repairs.</summary>
    public TimeSpan RepairScanInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>A dispatched job that has not taken the vdisk's owner key by then is dispatched again.</summary>
    public TimeSpan DispatchTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Crashes in a row restarted at once; from then on each restart waits twice as long.</summary>
    public int ImmediateRestarts { get; set; } = 3;
    public TimeSpan RestartBackoff { get; set; } = TimeSpan.FromSeconds(1);
    public TimeSpan MaxRestartBackoff { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>A process that stays up this long is healthy again: its crash count starts over.</summary>
    public TimeSpan CrashCountReset { get; set; } = TimeSpan.FromMinutes(10);
}
