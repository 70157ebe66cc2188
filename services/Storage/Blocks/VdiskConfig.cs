using ZeroDisk.Contracts;

namespace ZeroDisk.Storage;

/// <summary>Everything one vdisk's storage needs from etcd, each part validated (the last good one when a key is bad).</summary>
public sealed record VdiskConfig(string VdiskId, VdiskStaticConfig Static, VdiskNbdConfig Nbd, StorageClusterConfig Primary, StorageClusterConfig Slave)
{
    public int ShardCount => Primary.Servers.Count;
}
