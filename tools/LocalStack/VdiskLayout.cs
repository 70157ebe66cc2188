using dotnet_etcd;
using ZeroDisk.Contracts;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.LocalStack;

/// <summary>
/// One vdisk on a private primary and slave cluster, written to etcd the way an operator's tooling would: both
/// clusters' configs (every engine online), the vdisk's static and NBD configs, and the server that exports it.
/// </summary>
public sealed record VdiskLayout(string VdiskId, string ServerId, string PrimaryClusterId, string SlaveClusterId, RedisClusters Clusters, int BlockSize)
{
    public static async Task<VdiskLayout> WriteAsync(EtcdClient etcd, RedisClusters clusters, int blockSize = 4096)
    {
        var layout = new VdiskLayout(TestNames.Unique("vd"), TestNames.Unique("srv"), TestNames.Unique("primary"), TestNames.Unique("slave"), clusters, blockSize);
        await layout.WriteClusterAsync(etcd, layout.PrimaryClusterId, _ => EngineState.Online);
        await layout.WriteClusterAsync(etcd, layout.SlaveClusterId, _ => EngineState.Online);
        await etcd.PutJsonAsync(EtcdKeys.VdiskStaticConfig(layout.VdiskId), new VdiskStaticConfig(blockSize, false, 1, "db"));
        await etcd.PutJsonAsync(EtcdKeys.VdiskNbdConfig(layout.VdiskId), new VdiskNbdConfig(layout.PrimaryClusterId, layout.SlaveClusterId));
        await etcd.PutJsonAsync(EtcdKeys.NbdServerVdisks(layout.ServerId), new NbdServerVdisksConfig([layout.VdiskId]));
        return layout;
    }

    public IReadOnlyList<RedisServerProcess> Engines(string clusterId) => clusterId == PrimaryClusterId ? Clusters.Primary : Clusters.Slave;

    /// <summary>Writes a cluster's config with each engine's state as <paramref name="state"/> says.</summary>
    public Task WriteClusterAsync(EtcdClient etcd, string clusterId, Func<int, EngineState> state) =>
        etcd.PutJsonAsync(EtcdKeys.StorageClusterConfig(clusterId),
            new StorageClusterConfig(Engines(clusterId).Select((e, k) => new StorageServerConfig(e.Address, 0, state(k))).ToList()));

    /// <summary>Sets one engine's state in etcd (what ClusterState does), without waiting for anyone to see it.</summary>
    public async Task PutStateAsync(EtcdClient etcd, string clusterId, int shard, EngineState state)
    {
        var key = EtcdKeys.StorageClusterConfig(clusterId);
        var current = (await etcd.GetJsonAsync<StorageClusterConfig>(key))!.Value;
        await etcd.PutJsonAsync(key, new StorageClusterConfig(current.Servers.Select((s, k) => k == shard ? s with { State = state } : s).ToList()));
    }
}
