using ZeroDisk.Contracts;

namespace ZeroDisk.ClusterState.Identity;

/// <summary>
/// Deterministic saga correlation ids (RFC 4122 name-based, SHA-1): every ClusterState instance and every
/// restart maps the same engine, cluster or vdisk repair to the same saga key in etcd.
/// </summary>
public static class SagaIds
{
    public static Guid Engine(string address) => NameBasedIds.Engine(address);
    public static Guid Cluster(string clusterId) => NameBased($"cluster:{clusterId}");
    public static Guid VdiskRepair(string vdiskId, string incident) => NameBased($"vdisk-repair:{vdiskId}:{incident}");

    /// <summary>The dedup record of one message in one saga type (a message may feed several sagas).</summary>
    public static Guid ProcessedMessage(string sagaType, Guid messageId) => NameBased($"processed:{sagaType}:{messageId:N}");

    public static Guid NameBased(string name) => NameBasedIds.Create(name);
}
