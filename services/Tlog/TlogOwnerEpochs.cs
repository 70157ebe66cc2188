using System.Collections.Concurrent;
using ZeroDisk.Contracts;
using ZeroDisk.Storage.Ownership;

namespace ZeroDisk.Tlog;

/// <summary>
/// What a tlog server checks every presented owner epoch against: the epoch of the vdisk's owner key
/// (<c>&lt;vdiskID&gt;:vdisk:owner</c>) in etcd. Only the current owner may append, ask for its highest sequence or
/// read the log; a client whose claim was taken over (or never made) may not.
/// </summary>
public interface ITlogOwnerEpochs
{
    /// <summary>Whether <paramref name="epoch"/> is the vdisk's current owner epoch; the reason when it is not.</summary>
    ValueTask<string?> RefuseAsync(string vdiskId, long epoch, CancellationToken ct);
}

/// <summary>
/// The owner epochs read from etcd, cached per vdisk. Epochs only grow, so a presented epoch below the cached one is
/// stale at once, one above it makes the key be read again at once (a new owner never waits), and an equal one is
/// trusted for <see cref="Freshness"/> before it is read again: a writer whose vdisk was taken over is refused within
/// that time (the engines' fence refuses its storage writes at once; its stale records sort below the new owner's).
/// When etcd cannot be read the answer is a refusal (fail closed), unless the cache is fresh.
/// </summary>
public sealed class EtcdOwnerEpochs(EtcdGrpc etcd) : ITlogOwnerEpochs
{
    public static readonly TimeSpan Freshness = TimeSpan.FromSeconds(1);

    private readonly ConcurrentDictionary<string, (long? Epoch, long ReadAt)> _cache = new(StringComparer.Ordinal);

    public ValueTask<string?> RefuseAsync(string vdiskId, long epoch, CancellationToken ct)
    {
        if (_cache.TryGetValue(vdiskId, out var cached) && cached.Epoch is { } current)
        {
            if (epoch < current) return ValueTask.FromResult<string?>(Stale(vdiskId, epoch, current));
            if (epoch == current && System.Diagnostics.Stopwatch.GetElapsedTime(cached.ReadAt) < Freshness) return ValueTask.FromResult<string?>(null);
        }
        return ReadAndCheckAsync(vdiskId, epoch, ct);
    }

    private async ValueTask<string?> ReadAndCheckAsync(string vdiskId, long epoch, CancellationToken ct)
    {
        long? current;
        try
        {
            current = (await etcd.GetAsync<VdiskOwner>(EtcdKeys.VdiskOwner(vdiskId), ct))?.Value.Epoch;
        }
        catch (Exception ex) when (ex is Grpc.Core.RpcException or System.Text.Json.JsonException or IOException)
        {
            return $"the owner of vdisk {vdiskId} cannot be read from etcd ({ex.GetType().Name}): refused";
        }
        _cache[vdiskId] = (current, System.Diagnostics.Stopwatch.GetTimestamp());
        if (current is null) return $"vdisk {vdiskId} has no owner: epoch {epoch} is not current";
        return current == epoch ? null : Stale(vdiskId, epoch, current.Value);
    }

    private static string Stale(string vdiskId, long epoch, long current) => $"stale owner epoch {epoch}: vdisk {vdiskId} is owned at epoch {current}";
}
