using System.Security.Cryptography;
using System.Text;

namespace ZeroDisk.Contracts;

/// <summary>
/// RFC 4122 name-based ids (SHA-1, version 5) in ZeroDisk's fixed namespace: every process maps the same name (an
/// engine, a cluster, a vdisk repair) to the same id — ClusterState to its saga keys, an NBD server to the engine
/// saga it reads the incident from (<see cref="EngineSagaRecord"/>).
/// </summary>
public static class NameBasedIds
{
    // A fixed namespace so ids never collide with other name-based UUIDs.
    private static readonly Guid Namespace = new("5b0f3c2e-8a4d-4f7e-9b61-2d7c0e1a9f44");

    public static Guid Create(string name)
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

    /// <summary>The storage engine saga of <paramref name="address"/>.</summary>
    public static Guid Engine(string address) => Create($"engine:{address}");
}
