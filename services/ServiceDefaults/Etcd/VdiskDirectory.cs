using dotnet_etcd;
using Etcdserverpb;
using Google.Protobuf;
using ZeroDisk.Contracts;

namespace ZeroDisk.ServiceDefaults.Etcd;

/// <summary>
/// Which vdisks live in which storage clusters. The key schema puts the vdisk id first
/// (<c>&lt;vdiskID&gt;:vdisk:conf:storage:nbd</c>), so there is no prefix to range over: read every key and keep
/// those with the suffix. Fine for the thousands of keys a cluster config holds.
/// </summary>
public static class VdiskDirectory
{
    /// <summary>Vdisks whose primary or slave cluster is <paramref name="clusterId"/>.</summary>
    public static async Task<IReadOnlyList<string>> VdisksInClusterAsync(this EtcdClient etcd, string clusterId, CancellationToken ct = default)
    {
        var all = await etcd.AllVdiskNbdConfigsAsync(ct);
        return all.Where(kv => kv.Value.StorageClusterID == clusterId || kv.Value.SlaveStorageClusterID == clusterId)
            .Select(kv => kv.Key).Order(StringComparer.Ordinal).ToList();
    }

    public static async Task<IReadOnlyDictionary<string, VdiskNbdConfig>> AllVdiskNbdConfigsAsync(this EtcdClient etcd, CancellationToken ct = default)
    {
        var response = await etcd.GetAsync(new RangeRequest { Key = ByteString.CopyFrom([0]), RangeEnd = ByteString.CopyFrom([0]) }, cancellationToken: ct);
        var result = new Dictionary<string, VdiskNbdConfig>(StringComparer.Ordinal);
        foreach (var kv in response.Kvs)
        {
            var vdisk = EtcdKeys.VdiskIdOfNbdConfig(kv.Key.ToStringUtf8());
            if (vdisk is null) continue;
            try
            {
                result[vdisk] = ZeroDiskJson.Deserialize<VdiskNbdConfig>(kv.Value.ToStringUtf8());
            }
            catch (System.Text.Json.JsonException)
            {
                // A malformed config names no cluster; its readers log it where they load it.
            }
        }
        return result;
    }
}
