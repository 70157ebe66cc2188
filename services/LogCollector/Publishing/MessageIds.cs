using System.Buffers;
using System.Security.Cryptography;
using System.Text;

namespace ZeroDisk.LogCollector.Publishing;

/// <summary>
/// The MessageId of a relayed line: a name-based UUID (RFC 9562 version 5, SHA-1) of node, stream, the file's inode,
/// its truncation generation and the line's byte offset. The same line read twice (after a crash or a broker outage)
/// gets the same id, so consumers can drop the redelivery; a line written at the same offset after a truncation
/// gets another (new generation).
/// </summary>
public static class MessageIds
{
    /// <summary>The namespace UUID of ZeroDisk log lines (fixed forever: changing it changes every id).</summary>
    private static readonly byte[] Namespace = new Guid("6d1c0f4e-3b57-4c36-9a0b-2f6e1d7a8c15").ToByteArray(bigEndian: true);

    public static Guid ForLine(string node, string stream, ulong inode, long generation, long offset)
    {
        // Strings are length-prefixed (a file name may hold any byte but '/' and NUL, newlines included), so two
        // different field tuples can never spell the same name.
        var name = $"{node.Length}:{node}\n{stream.Length}:{stream}\n{inode}\n{generation}\n{offset}";
        var maxBytes = Namespace.Length + Encoding.UTF8.GetMaxByteCount(name.Length);
        var rented = ArrayPool<byte>.Shared.Rent(maxBytes);
        try
        {
            Namespace.CopyTo(rented, 0);
            var length = Namespace.Length + Encoding.UTF8.GetBytes(name, 0, name.Length, rented, Namespace.Length);
            Span<byte> hash = stackalloc byte[SHA1.HashSizeInBytes];
            SHA1.HashData(rented.AsSpan(0, length), hash);
            hash[6] = (byte)((hash[6] & 0x0F) | 0x50); // version 5
            hash[8] = (byte)((hash[8] & 0x3F) | 0x80); // RFC variant
            return new Guid(hash[..16], bigEndian: true);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
