using static ZeroDisk.Nbd.Tests.Support.ClientMessages;

namespace ZeroDisk.Nbd.Tests.Fuzz;

/// <summary>Random valid client sessions (handshake, then requests) and byte-wise mutations of them.</summary>
internal static class SessionGenerator
{
    private static readonly string[] Names = [CheckedExportCatalog.Writable, CheckedExportCatalog.ReadOnlyName, "no-such", ""];

    /// <summary>The client's half of a handshake that ends in transmission (GO or EXPORT_NAME) or not.</summary>
    public static List<byte[]> Handshake(Random r, out string export)
    {
        var parts = new List<byte[]> { ClientFlags(r.Next(10) == 0 ? 1u : 3u) };
        export = Names[r.Next(10) switch { < 5 => 0, < 8 => 1, 8 => 2, _ => 3 }];
        for (var i = r.Next(4); i > 0; i--)
        {
            parts.Add(r.Next(9) switch
            {
                7 => Option(OptStartTls, r.Next(4) == 0 ? RandomBytes(r, r.Next(1, 8)) : []),
                0 => Option(OptList, []),
                1 => Option(OptStructuredReply, []),
                2 => Option(OptListMetaContext, MetaContextRequest(export, r.Next(2) == 0 ? "base:" : "qemu:dirty-bitmap:x")),
                3 => Option(OptSetMetaContext, MetaContextRequest(export, "base:allocation")),
                4 => Option(OptInfo, InfoRequest(export, 0, 1, 2, 3)),
                5 => Option((uint)r.Next(11, 64), RandomBytes(r, r.Next(16))),
                6 => Option(OptList, RandomBytes(r, 3)), // LIST with data is invalid
                _ => Option(OptStructuredReply, []),
            });
        }
        parts.Add(r.Next(10) switch
        {
            < 7 => Option(OptGo, InfoRequest(export, 3)),
            < 9 => Option(OptExportName, System.Text.Encoding.UTF8.GetBytes(export)),
            _ => Option(OptAbort, []),
        });
        return parts;
    }

    /// <summary>Transmission requests against an export of <paramref name="size"/> bytes, mostly in range.</summary>
    public static List<byte[]> Requests(Random r, long size)
    {
        var parts = new List<byte[]>();
        for (var i = r.Next(9); i > 0; i--)
        {
            var handle = (ulong)r.NextInt64();
            var length = (uint)(r.Next(4) == 0 ? r.Next(1, 5000) : 512 * r.Next(0, 17));
            var offset = (ulong)(r.Next(8) == 0 ? r.NextInt64(0, size + 16384) : 512 * r.NextInt64(0, Math.Max(1, (size - length) / 512)));
            var flags = (ushort)(r.Next(6) switch { 0 => FlagFua, 1 => FlagNoHole, 2 => FlagFastZero, 3 => r.Next(0, 1 << 16), _ => 0 });
            parts.Add(r.Next(9) switch
            {
                0 or 1 => Request(CmdRead, handle, offset, length, flags),
                2 or 3 => Request(CmdWrite, handle, offset, length, flags, RandomBytes(r, (int)length)),
                4 => Request(CmdFlush, handle, 0, 0, flags),
                5 => Request(CmdTrim, handle, offset, length, flags),
                6 => Request(CmdWriteZeroes, handle, offset, length, flags),
                7 => Request(CmdBlockStatus, handle, offset, length, flags),
                _ => Request((ushort)r.Next(8, 100), handle, offset, length, flags),
            });
        }
        if (r.Next(2) == 0) parts.Add(Request(CmdDisc, 0, 0, 0));
        return parts;
    }

    /// <summary>One to four byte-wise changes: overwrite, flip, delete, duplicate, truncate.</summary>
    public static byte[] Mutate(Random r, byte[] input, int protectedPrefix = 0)
    {
        var bytes = new List<byte>(input);
        for (var m = r.Next(1, 5); m > 0 && bytes.Count > protectedPrefix; m--)
        {
            var at = r.Next(protectedPrefix, bytes.Count);
            switch (r.Next(6))
            {
                case 0: bytes[at] = (byte)r.Next(256); break;
                case 1: bytes[at] ^= (byte)(1 << r.Next(8)); break;
                case 2: bytes[at] = r.Next(2) == 0 ? (byte)0 : (byte)0xff; break;
                case 3: bytes.RemoveRange(at, Math.Min(bytes.Count - at, r.Next(1, 9))); break;
                case 4: bytes.InsertRange(at, bytes.GetRange(at, Math.Min(bytes.Count - at, r.Next(1, 29)))); break;
                default: bytes.RemoveRange(at, bytes.Count - at); break;
            }
        }
        return [.. bytes];
    }

    public static byte[] RandomBytes(Random r, int count)
    {
        var bytes = new byte[count];
        r.NextBytes(bytes);
        return bytes;
    }

    public static byte[] Concat(IEnumerable<byte[]> parts) => parts.SelectMany(p => p).ToArray();
}
