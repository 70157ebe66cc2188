using System.Buffers;
using System.Buffers.Binary;

namespace ZeroDisk.Nbd.Protocol;

/// <summary>One transmission-phase request header (28 bytes, big-endian).</summary>
internal readonly record struct NbdRequest(CommandFlags Flags, NbdCommand Command, ulong Handle, ulong Offset, uint Length)
{
    /// <summary>Parses a header from the reader; false when fewer than 28 bytes are buffered. Magic is checked by the caller.</summary>
    public static bool TryRead(ref SequenceReader<byte> reader, out uint magic, out NbdRequest request)
    {
        Span<byte> header = stackalloc byte[NbdWire.RequestHeaderSize];
        if (!reader.TryCopyTo(header))
        {
            magic = 0;
            request = default;
            return false;
        }
        reader.Advance(NbdWire.RequestHeaderSize);
        magic = BinaryPrimitives.ReadUInt32BigEndian(header);
        request = new NbdRequest(
            (CommandFlags)BinaryPrimitives.ReadUInt16BigEndian(header[4..]),
            (NbdCommand)BinaryPrimitives.ReadUInt16BigEndian(header[6..]),
            BinaryPrimitives.ReadUInt64BigEndian(header[8..]),
            BinaryPrimitives.ReadUInt64BigEndian(header[16..]),
            BinaryPrimitives.ReadUInt32BigEndian(header[24..]));
        return true;
    }

    /// <summary>True when [Offset, Offset+Length) lies inside an export of <paramref name="size"/> bytes.</summary>
    public bool InRange(long size) => Offset <= (ulong)size && Length <= (ulong)size - Offset;
}
