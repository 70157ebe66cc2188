using ZeroDisk.Contracts;

namespace ZeroDisk.ClusterState.Topology;

public static class ClusterHealth
{
    /// <summary>Healthy iff every engine is online or rip (seed step 1: no vdisk creation or deletion while repairing).</summary>
    public static ClusterStatus Derive(StorageClusterConfig config) => config.DerivedStatus();

    public static StorageClusterConfig WithEngineState(StorageClusterConfig config, string address, EngineState state) =>
        config with { Servers = config.Servers.Select(s => s.Address == address ? s with { State = state } : s).ToList() };
}
