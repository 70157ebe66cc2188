using System.Text.RegularExpressions;
using dotnet_etcd;
using ZeroDisk.Contracts;
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
public static partial class DrillCleanup
{
    /// <summary>
    /// What drills that died without cleaning up (SIGKILLed, or run before drills cleaned up) left: the keys naming a
    /// drill id none of whose agents is registered. A running drill always has one — its agents register (under a
    /// lease) before it writes anything else, and only one of them is ever killed at a time — so only dead drills go.
    /// </summary>
    public static async Task<(int Drills, int Removed)> RemoveLeftoversAsync(string etcdEndpoints, CancellationToken ct = default)
    {
        using var etcd = EtcdExtensions.CreateClient(etcdEndpoints);
        var all = await etcd.ScanSuffixAsync("", "", ct);
        var live = all.Where(kv => kv.Key.ToStringUtf8().StartsWith(EtcdKeys.AgentPrefix, StringComparison.Ordinal))
            .SelectMany(kv => DrillId().Matches(kv.Key.ToStringUtf8()).Select(m => m.Value)).ToHashSet();
        var dead = all.SelectMany(kv => DrillId().Matches(kv.Key.ToStringUtf8() + " " + kv.Value.ToStringUtf8()).Select(m => m.Value))
            .Where(id => !live.Contains(id)).ToHashSet();
        var removed = 0;
        foreach (var id in dead) removed += (await RemoveAsync(etcdEndpoints, id, ct)).Removed;
        return (dead.Count, removed);
    }

    [GeneratedRegex("drill-[0-9a-f]{8}")]
    private static partial Regex DrillId();

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
