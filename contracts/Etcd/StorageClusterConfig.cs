namespace ZeroDisk.Contracts;

/// <summary>Value of <c>&lt;clusterID&gt;:cluster:conf:storage</c>.</summary>
public sealed record StorageClusterConfig(IReadOnlyList<StorageServerConfig> Servers)
{
    /// <summary>Healthy iff every engine is online or rip (no vdisk creation or deletion while repairing).</summary>
    public ClusterStatus DerivedStatus() =>
        Servers.All(s => s.State is EngineState.Online or EngineState.Rip) ? ClusterStatus.Healthy : ClusterStatus.Repairing;
}

/// <summary>One storage engine of a cluster; its index in <see cref="StorageClusterConfig.Servers"/> is its shard.</summary>
public sealed record StorageServerConfig(string Address, int Db = 0, EngineState State = EngineState.Online);
