using dotnet_etcd;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.Drill;

/// <summary>
/// What a drill registered in etcd goes when it ends, so <c>zdctl status</c> on a shared etcd lists no old drills:
/// every key whose name or value holds the drill's id — its clusters, vdisks, servers, engine identities, agent
/// registrations, the scheduler's work, and the sagas (named by UUID, but their values name the drill's clusters,
/// vdisks and engines). Its engines are its own processes (their data goes with their directories) and its bus
/// endpoints are deleted by name (<see cref="DrillStack"/>). Processed-message records name neither; they expire with
/// their lease (ClusterState:ProcessedMessageTtl).
/// </summary>
public static class DrillCleanup
{
    /// <summary>Deletes the drill's keys; returns how many were deleted and how many still name it afterwards (0 unless something wrote meanwhile).</summary>
    public static async Task<(int Removed, int Left)> RemoveAsync(string etcdEndpoints, string drillId, CancellationToken ct = default)
    {
        using var etcd = EtcdExtensions.CreateClient(etcdEndpoints);
        var removed = 0;
        foreach (var key in await KeysNamingAsync(etcd, drillId, ct))
        {
            await etcd.DeleteAsync(key, cancellationToken: ct);
            removed++;
        }
        return (removed, (await KeysNamingAsync(etcd, drillId, ct)).Count);
    }

    private static async Task<IReadOnlyList<string>> KeysNamingAsync(EtcdClient etcd, string drillId, CancellationToken ct) =>
        (await etcd.ScanSuffixAsync("", "", ct))
        .Where(kv => kv.Key.ToStringUtf8().Contains(drillId, StringComparison.Ordinal) || kv.Value.ToStringUtf8().Contains(drillId, StringComparison.Ordinal))
        .Select(kv => kv.Key.ToStringUtf8()).ToList();
}
