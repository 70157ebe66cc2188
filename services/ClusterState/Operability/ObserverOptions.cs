using ZeroDisk.ServiceDefaults.Options;

namespace ZeroDisk.ClusterState.Operability;

/// <summary>Settings of the cluster observer (configuration section "ClusterState:Observer").</summary>
public sealed class ObserverOptions
{
    public const string Section = "ClusterState:Observer";

    /// <summary>How often etcd, the engines' dirty sets and the bus's error queues are read for the gauges and the health verdict.</summary>
    [PositiveDuration]
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>A repair job whose heartbeat is older than this is reported silent.</summary>
    [PositiveDuration]
    public TimeSpan JobSilentAfter { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>An affected vdisk nobody owns for this long while agents are registered: its job's lease lapsed or the job was never taken.</summary>
    [PositiveDuration]
    public TimeSpan UnownedAfter { get; set; } = TimeSpan.FromSeconds(30);
}
