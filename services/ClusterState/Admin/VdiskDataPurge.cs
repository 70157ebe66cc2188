using StackExchange.Redis;
using ZeroDisk.Contracts;
using ZeroDisk.ServiceDefaults.Engines;

namespace ZeroDisk.ClusterState.Admin;

/// <summary>
/// Removes a deleted vdisk's blocks (<c>nondedup:&lt;vdiskID&gt;</c>) and dirty sets from every engine of its
/// primary and slave cluster, so a later vdisk with the same id starts empty. Rip engines are gone and skipped.
/// </summary>
public static class VdiskDataPurge
{
    public static async Task<IReadOnlyList<string>> PurgeAsync(string vdiskId, IEnumerable<StorageClusterConfig> clusters, CancellationToken ct)
    {
        var done = new List<string>();
        var servers = clusters.SelectMany(c => c.Servers).Where(s => s.State != EngineState.Rip).ToList();
        foreach (var server in servers)
        {
            ct.ThrowIfCancellationRequested();
            await using var redis = await EngineConnection.ConnectAsync($"{server.Address},abortConnect=true,connectTimeout=3000,syncTimeout=5000");
            var db = redis.GetDatabase(server.Db);
            // The blocks, and what owners recorded of them (NbdHost's RedisKeys.VdiskRecord and RecentWrites): a later
            // vdisk with the same id on clusters of another size must not be refused for this one's layout.
            var keys = new List<RedisKey> { $"nondedup:{vdiskId}", $"zerodisk:vdisk:{vdiskId}", $"recent:{vdiskId}" };
            keys.AddRange(servers.Select(s => EngineKeys.DirtyBlocks(vdiskId, s.Address)));
            var deleted = await db.KeyDeleteAsync(keys.ToArray());
            done.Add($"{server.Address}: deleted {deleted} key(s)");
        }
        return done;
    }
}
