using System.Security.Cryptography;
using System.Text;

namespace ZeroDisk.ClusterState.Identity;

/// <summary>
/// Deterministic saga correlation ids (RFC 4122 name-based, SHA-1): every ClusterState instance and every
/// restart maps the same engine, cluster or vdisk repair to the same saga key in etcd.
/// </summary>
public static class SagaIds
{
    // A fixed namespace so ids never collide with other name-based UUIDs.
    private static readonly Guid Namespace = new("5b0f3c2e-8a4d-4f7e-9b61-2d7c0e1a9f44");

    public static Guid Engine(string address) => NameBased($"engine:{address}");
    public static Guid Cluster(string clusterId) => NameBased($"cluster:{clusterId}");
    public static Guid VdiskRepair(string vdiskId, string incident) => NameBased($"vdisk-repair:{vdiskId}:{incident}");

    /// <summary>The dedup record of one message in one saga type (a message may feed several sagas).</summary>
    public static Guid ProcessedMessage(string sagaType, Guid messageId) => NameBased($"processed:{sagaType}:{messageId:N}");

    public static Guid NameBased(string name)
    {
        Span<byte> input = stackalloc byte[16 + Encoding.UTF8.GetByteCount(name)];
        Namespace.TryWriteBytes(input[..16], bigEndian: true, out _);
        Encoding.UTF8.GetBytes(name, input[16..]);
        Span<byte> hash = stackalloc byte[20];
        SHA1.HashData(input, hash);
        hash[6] = (byte)((hash[6] & 0x0F) | 0x50); // version 5
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80); // RFC 4122 variant
        return new Guid(hash[..16], bigEndian: true);
    }
}
