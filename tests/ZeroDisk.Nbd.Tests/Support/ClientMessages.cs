using System.Buffers.Binary;
using System.Text;

namespace ZeroDisk.Nbd.Tests.Support;

/// <summary>What an NBD client sends, byte for byte (proto.md), for the raw client and the fuzzer.</summary>
public static class ClientMessages
{
    public const ulong IHaveOpt = 0x49484156454F5054;
    public const uint RequestMagic = 0x25609513;

    public const uint OptExportName = 1, OptAbort = 2, OptList = 3, OptStartTls = 5, OptInfo = 6, OptGo = 7, OptStructuredReply = 8,
        OptListMetaContext = 9, OptSetMetaContext = 10;

    public const ushort CmdRead = 0, CmdWrite = 1, CmdDisc = 2, CmdFlush = 3, CmdTrim = 4, CmdWriteZeroes = 6, CmdBlockStatus = 7;

    public const ushort FlagFua = 1, FlagNoHole = 2, FlagFastZero = 16;

    /// <summary>Client flags: fixed newstyle and no zeroes.</summary>
    public static byte[] ClientFlags(uint flags = 3)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, flags);
        return bytes;
    }

    public static byte[] Option(uint option, ReadOnlySpan<byte> data)
    {
        var bytes = new byte[16 + data.Length];
        BinaryPrimitives.WriteUInt64BigEndian(bytes, IHaveOpt);
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(8), option);
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(12), (uint)data.Length);
        data.CopyTo(bytes.AsSpan(16));
        return bytes;
    }

    /// <summary>NBD_OPT_INFO / NBD_OPT_GO data: name and the info types asked for.</summary>
    public static byte[] InfoRequest(string export, params ushort[] infos)
    {
        var name = Encoding.UTF8.GetBytes(export);
        var data = new byte[4 + name.Length + 2 + 2 * infos.Length];
        BinaryPrimitives.WriteUInt32BigEndian(data, (uint)name.Length);
        name.CopyTo(data, 4);
        BinaryPrimitives.WriteUInt16BigEndian(data.AsSpan(4 + name.Length), (ushort)infos.Length);
        for (var i = 0; i < infos.Length; i++) BinaryPrimitives.WriteUInt16BigEndian(data.AsSpan(6 + name.Length + 2 * i), infos[i]);
        return data;
    }

    /// <summary>NBD_OPT_{LIST,SET}_META_CONTEXT data.</summary>
    public static byte[] MetaContextRequest(string export, params string[] queries)
    {
        using var stream = new MemoryStream();
        WriteString(stream, export);
        Span<byte> count = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(count, (uint)queries.Length);
        stream.Write(count);
        foreach (var q in queries) WriteString(stream, q);
        return stream.ToArray();
    }

    public static byte[] Request(ushort command, ulong handle, ulong offset, uint length, ushort flags = 0, ReadOnlySpan<byte> payload = default)
    {
        var bytes = new byte[28 + payload.Length];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, RequestMagic);
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(4), flags);
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(6), command);
        BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(8), handle);
        BinaryPrimitives.WriteUInt64BigEndian(bytes.AsSpan(16), offset);
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(24), length);
        payload.CopyTo(bytes.AsSpan(28));
        return bytes;
    }

    private static void WriteString(Stream stream, string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(length, (uint)bytes.Length);
        stream.Write(length);
        stream.Write(bytes);
    }
}
