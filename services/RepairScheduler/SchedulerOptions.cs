using System.ComponentModel.DataAnnotations;

namespace ZeroDisk.RepairScheduler;

/// <summary>Timings of outage analysis, repair dispatch and restarts (section "Scheduler" of configuration).</summary>
public sealed class SchedulerOptions
{
    public const string Section = "Scheduler";

    /// <summary>Prefix of every queue name and of the etcd scope of the scheduler's work (tests share one broker and etcd).</summary>
    public string EndpointPrefix { get; set; } = "";

    /// <summary>While the outage is younger than this, probe fast: most outages are reboots and restarts.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan GracePeriod { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Not back by then: the outage is permanent.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "1.00:00:00")]
    public TimeSpan Deadline { get; set; } = TimeSpan.FromMinutes(10);

    [Range(typeof(TimeSpan), "00:00:00.001", "1.00:00:00")]
    public TimeSpan ProbeInterval { get; set; } = TimeSpan.FromMilliseconds(500);
    [Range(typeof(TimeSpan), "00:00:00.001", "1.00:00:00")]
    public TimeSpan MaxProbeInterval { get; set; } = TimeSpan.FromSeconds(10);
    [Range(typeof(TimeSpan), "00:00:00.001", "1.00:00:00")]
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Good probes in a row (marker intact) that classify an outage temporary at once.</summary>
    [Range(1, 1000)]
    public int GoodProbesForTemporary { get; set; } = 3;

    /// <summary>How often a repair campaign looks for vdisks that nobody repairs.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "1.00:00:00")]
    public TimeSpan RepairScanInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>A dispatched job that has not taken the vdisk's owner key by then is dispatched again.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "1.00:00:00")]
    public TimeSpan DispatchTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Crashes in a row restarted at once; from then on each restart waits twice as long.</summary>
    [Range(0, 1000)]
    public int ImmediateRestarts { get; set; } = 3;
    [Range(typeof(TimeSpan), "00:00:00.001", "1.00:00:00")]
    public TimeSpan RestartBackoff { get; set; } = TimeSpan.FromSeconds(1);
    [Range(typeof(TimeSpan), "00:00:00.001", "1.00:00:00")]
    public TimeSpan MaxRestartBackoff { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// A restart command the broker has not taken by then (its agent's queue refuses it, the broker is unreachable)
    /// fails, and the exit is not acted on; the report is retried, then goes to the error queue. Shorter than the time
    /// a second report of the same exit waits for the first one's outcome (RestartClaims.PendingTimeout, 30 s), so the
    /// second never takes over a claim whose command may still leave.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:00:20")]
    public TimeSpan RestartSendTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>A process that stays up this long is healthy again: its crash count starts over.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "1.00:00:00")]
    public TimeSpan CrashCountReset { get; set; } = TimeSpan.FromMinutes(10);
}
