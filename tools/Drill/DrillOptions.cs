namespace ZeroDisk.Drill;

public enum OutageMode { Tmp, Final }
public enum FailedSide { Primary, Slave }

/// <summary>What the drill does: which outage, on which side, how long the load runs, how long to wait.</summary>
public sealed record DrillOptions(OutageMode Outage, FailedSide Side, TimeSpan Load, TimeSpan Timeout, string Configuration, bool CrashServer = false)
{
    /// <summary>SIGKILL the agent running the repair job of the vdisk nobody serves, mid-job (needs a permanent outage: a temporary one leaves that vdisk nothing to copy).</summary>
    public bool KillRepairAgent { get; init; }

    /// <summary>
    /// During the incident SIGKILL node 1's collector, ClusterState, the scheduler, RabbitMQ and etcd once each
    /// (<see cref="ChaosSchedule"/>); RabbitMQ and etcd are restarted with scripts/infra.sh, so run it via scripts/chaos.sh.
    /// </summary>
    public bool Chaos { get; init; }

    /// <summary>ClusterState instances side by side (several may run; the etcd compare keeps them exactly-once).</summary>
    public int ClusterStateInstances { get; init; } = 1;

    /// <summary>Journal vd2 to three tlog servers and SIGKILL one under load: it must be restarted, the load must not notice.</summary>
    public bool CrashTlog { get; init; }

    /// <summary>
    /// Only set the deployment up with zdctl and check it serves (qemu-io writes and reads vd1; deleting a served
    /// vdisk is refused and leaves its data); no engine is killed.
    /// </summary>
    public bool SetupOnly { get; init; }

    /// <summary>
    /// Proof that the monitoring works: a real Prometheus scrapes every service of the stack with
    /// deploy/prometheus/alerts.yml and headless Chromium keeps the status page open; the report gets their checks
    /// (<see cref="DrillObservation"/>). Needs a temporary outage: the page must see the engine online again.
    /// </summary>
    public bool Observe { get; init; }

    /// <summary>How long a temporarily failed engine stays down.</summary>
    public TimeSpan Downtime { get; init; } = TimeSpan.FromSeconds(4);

    /// <summary>The scheduler's deadline: a permanent outage is recognised this long after the failure.</summary>
    public TimeSpan Deadline { get; init; } = TimeSpan.FromSeconds(12);
}
