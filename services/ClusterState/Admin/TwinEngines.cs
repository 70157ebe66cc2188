using ZeroDisk.ClusterState.Topology;
using ZeroDisk.Contracts;

namespace ZeroDisk.ClusterState.Admin;

/// <summary>
/// The engines that mirror an engine's shard: the engine at the same shard index in every cluster paired with its
/// cluster (as primary or slave) by some vdisk. While one of them is not online, the engine may hold the only
/// complete copy of some blocks (reads come only from a complete side).
/// </summary>
public static class TwinEngines
{
    public static async Task<IReadOnlyList<StorageServerConfig>> OfAsync(ClusterTopology topology, string address, CancellationToken ct)
    {
        var clusters = await topology.ClustersAsync(ct);
        var own = clusters.FirstOrDefault(c => c.Config.Servers.Any(s => s.Address == address));
        if (own is null) return [];
        var shard = own.Config.Servers.ToList().FindIndex(s => s.Address == address);
        var paired = (await topology.VdisksAsync(ct))
            .SelectMany(v => v.Nbd.StorageClusterID == own.ClusterId ? [v.Nbd.SlaveStorageClusterID]
                : v.Nbd.SlaveStorageClusterID == own.ClusterId ? new[] { v.Nbd.StorageClusterID } : [])
            .ToHashSet();
        return clusters
            .Where(c => paired.Contains(c.ClusterId) && c.Config.Servers.Count > shard)
            .Select(c => c.Config.Servers[shard])
            .ToList();
    }
}
