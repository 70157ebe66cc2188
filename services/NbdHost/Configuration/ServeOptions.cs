namespace ZeroDisk.NbdHost.Configuration;

/// <summary>What <c>nbdhost serve</c> was started with.</summary>
public sealed record ServeOptions(string ServerId, string EtcdEndpoints, string? Listen = null, string? UnixSocket = null)
{
    /// <summary>After this long without a watch event etcd is read again anyway (one writer per vdisk).</summary>
    public TimeSpan RereadInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Repair-only mode (<c>--repair</c>): serve no client, open just this vdisk, run the repair etcd asks for and
    /// exit once it completed. The agent that started the process holds the vdisk's owner key.
    /// </summary>
    public RepairOnlyJob? RepairOnly { get; init; }
}

/// <summary>The one repair a repair-only process runs: the vdisk, the engine it repairs, and what to expect.</summary>
public sealed record RepairOnlyJob(string VdiskId, string Address, string Kind, string? Incident, long Epoch);
