using dotnet_etcd;
using ZeroDisk.ClusterState.Persistence;
using ZeroDisk.Contracts;
using ZeroDisk.Contracts.Admin;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.ClusterState.Admin;

/// <summary>
/// Vdisk creation and deletion: one etcd transaction each, guarded by both clusters being healthy. A deletion
/// leaves a tombstone until the vdisk's data is purged from the engines; the id cannot be reused before that.
/// </summary>
public sealed class VdiskAdmin(EtcdClient etcd)
{
    private const int Attempts = 5;

    public static string Tombstone(string vdiskId) => $"{EtcdKeys.OwnRecordsPrefix}vdisk-deleting/{vdiskId}";

    public async Task<AdminResult> CreateAsync(CreateVdiskRequest request, CancellationToken ct)
    {
        var errors = new List<string>();
        if (!ConfigValidation.IsValidId(request.Id)) errors.Add($"vdisk id '{request.Id}' must be 1-128 letters, digits, '-', '_' or '.'");
        errors.AddRange(ConfigValidation.Validate(request.Static));
        errors.AddRange(ConfigValidation.Validate(request.Nbd));
        if (errors.Count > 0) return new AdminResult(400, string.Join("; ", errors));

        for (var attempt = 0; attempt < Attempts; attempt++)
        {
            var primary = await etcd.GetJsonAsyncOrNull<StorageClusterConfig>(EtcdKeys.StorageClusterConfig(request.StorageClusterID), ct);
            var slave = await etcd.GetJsonAsyncOrNull<StorageClusterConfig>(EtcdKeys.StorageClusterConfig(request.SlaveStorageClusterID), ct);
            if (primary is not null && slave is not null && ConfigValidation.ValidatePair(primary, slave) is { Count: > 0 } pair)
                return new AdminResult(400, string.Join("; ", pair));

            var transaction = new EtcdTransaction()
                .ExpectVersion(EtcdKeys.VdiskStaticConfig(request.Id), 0)
                .ExpectVersion(EtcdKeys.VdiskNbdConfig(request.Id), 0)
                .ExpectVersion(Tombstone(request.Id), 0);
            foreach (var cluster in new[] { request.StorageClusterID, request.SlaveStorageClusterID })
                if (await ClusterGate.RequireHealthyAsync(etcd, transaction, cluster, ct) is { } refused) return refused;
            if (await etcd.GetAsync(EtcdKeys.VdiskStaticConfig(request.Id), ct) is not null || await etcd.GetAsync(EtcdKeys.VdiskNbdConfig(request.Id), ct) is not null)
                return new AdminResult(409, $"vdisk '{request.Id}' already exists");
            if (await etcd.GetAsync(Tombstone(request.Id), ct) is not null)
                return new AdminResult(409, $"vdisk '{request.Id}' is being deleted; its data is not purged yet (repeat the DELETE)");

            transaction
                .Put(EtcdKeys.VdiskStaticConfig(request.Id), ZeroDiskJson.Serialize(request.Static))
                .Put(EtcdKeys.VdiskNbdConfig(request.Id), ZeroDiskJson.Serialize(request.Nbd));
            if (await transaction.CommitAsync(etcd, ct)) return new AdminResult(201, $"vdisk '{request.Id}' created");
        }
        return new AdminResult(409, $"vdisk '{request.Id}': its clusters kept changing; try again");
    }

    public async Task<AdminResult> DeleteAsync(string vdiskId, CancellationToken ct)
    {
        for (var attempt = 0; attempt < Attempts; attempt++)
        {
            var nbdKv = await etcd.GetAsync(EtcdKeys.VdiskNbdConfig(vdiskId), ct);
            var tombstone = await etcd.GetAsync(Tombstone(vdiskId), ct);
            var nbdJson = nbdKv?.Value.ToStringUtf8() ?? tombstone?.Value.ToStringUtf8();
            if (nbdJson is null) return new AdminResult(404, $"vdisk '{vdiskId}' does not exist");
            var nbd = ZeroDiskJson.Deserialize<VdiskNbdConfig>(nbdJson);

            // One writer per vdisk: while a server or a repair job owns it, its data is live.
            // The owner key must still be absent when the delete commits, so a claim in between makes it fail.
            if (await etcd.GetAsync(EtcdKeys.VdiskOwner(vdiskId), ct) is { } ownerKv)
                return new AdminResult(409, $"vdisk '{vdiskId}' is being served ({OwnerText(ownerKv.Value.ToStringUtf8())}): stop serving it "
                                            + "(remove it from its NBD server) or let its repair finish, then delete it; nothing was changed");
            var transaction = new EtcdTransaction().ExpectVersion(EtcdKeys.VdiskOwner(vdiskId), 0);
            foreach (var cluster in new[] { nbd.StorageClusterID, nbd.SlaveStorageClusterID })
                if (await ClusterGate.RequireHealthyAsync(etcd, transaction, cluster, ct) is { } refused) return refused;
            if (nbdKv is not null)
            {
                transaction
                    .ExpectModRevision(EtcdKeys.VdiskNbdConfig(vdiskId), nbdKv.ModRevision)
                    .Delete(EtcdKeys.VdiskStaticConfig(vdiskId))
                    .Delete(EtcdKeys.VdiskNbdConfig(vdiskId))
                    .Put(Tombstone(vdiskId), nbdJson);
            }
            else
            {
                transaction.ExpectModRevision(Tombstone(vdiskId), tombstone!.ModRevision).Put(Tombstone(vdiskId), nbdJson);
            }
            if (!await transaction.CommitAsync(etcd, ct)) continue;

            var clusters = new List<StorageClusterConfig>();
            foreach (var cluster in new[] { nbd.StorageClusterID, nbd.SlaveStorageClusterID })
                if (await etcd.GetJsonAsyncOrNull<StorageClusterConfig>(EtcdKeys.StorageClusterConfig(cluster), ct) is { } config)
                    clusters.Add(config);
            IReadOnlyList<string> purged;
            try
            {
                purged = await VdiskDataPurge.PurgeAsync(vdiskId, clusters, ct);
            }
            catch (Exception ex) when (ex is StackExchange.Redis.RedisException or TimeoutException)
            {
                return new AdminResult(503, $"vdisk '{vdiskId}' is deleted from etcd but its data could not be purged ({ex.Message}); repeat the DELETE");
            }
            await etcd.DeleteAsync(Tombstone(vdiskId), cancellationToken: ct);
            return new AdminResult(200, $"vdisk '{vdiskId}' deleted and its data purged", purged);
        }
        return new AdminResult(409, $"vdisk '{vdiskId}': its clusters kept changing; try again");
    }
    private static string OwnerText(string json)
    {
        try
        {
            var owner = ZeroDiskJson.Deserialize<VdiskOwner>(json);
            return $"owned by {owner.Server}, {owner.Kind.ToWire()}, epoch {owner.Epoch}";
        }
        catch (System.Text.Json.JsonException)
        {
            return "its owner key is set";
        }
    }
}

internal static class EtcdJsonRead
{
    public static async Task<T?> GetJsonAsyncOrNull<T>(this EtcdClient etcd, string key, CancellationToken ct) where T : class =>
        await etcd.GetAsync(key, ct) is { } kv ? ZeroDiskJson.Deserialize<T>(kv.Value.ToStringUtf8()) : null;
}
