using System.Buffers.Text;
using System.Text;

namespace ZeroDisk.Storage.Resp;

public enum RespKind { SimpleString, Error, Integer, Bulk, Array, Null }

/// <summary>One RESP2 reply, copied out of the receive buffer.</summary>
public sealed class RespReply
{
    public static readonly RespReply Null = new(RespKind.Null);

    private RespReply(RespKind kind) => Kind = kind;

    public RespKind Kind { get; }

    public long Integer { get; private init; }

    /// <summary>The bytes of a bulk or simple string (or the text of an error).</summary>
    public byte[]? Bytes { get; private init; }

    public RespReply[]? Items { get; private init; }

    public bool IsNull => Kind == RespKind.Null;

    public string? Text => Bytes is null ? null : Encoding.UTF8.GetString(Bytes);

    public override string ToString() => Kind switch
    {
        RespKind.Integer => Integer.ToString(System.Globalization.CultureInfo.InvariantCulture),
        RespKind.Array => $"[{string.Join(", ", Items!.Select(i => i.ToString()))}]",
        RespKind.Null => "(nil)",
        _ => Text ?? "",
    };

    /// <summary>
    /// The length of the complete reply at the start of <paramref name="data"/>, or -1 when more bytes are needed.
    /// Throws on bytes that are not RESP2.
    /// </summary>
    public static int FrameLength(ReadOnlySpan<byte> data) => Scan(data, 0);

    private static int Scan(ReadOnlySpan<byte> data, int pos)
    {
        if (pos >= data.Length) return -1;
        var line = data[pos..].IndexOf("\r\n"u8);
        if (line < 0) return -1;
        var afterLine = pos + line + 2;
        switch (data[pos])
        {
            case (byte)'+' or (byte)'-' or (byte)':':
                return afterLine;
            case (byte)'$':
            {
                var length = ParseLength(data.Slice(pos + 1, line - 1));
                if (length < 0) return afterLine;
                var end = afterLine + length + 2;
                return end <= data.Length ? end : -1;
            }
            case (byte)'*':
            {
                var count = ParseLength(data.Slice(pos + 1, line - 1));
                var at = afterLine;
                for (var i = 0; i < count; i++)
                {
                    at = Scan(data, at);
                    if (at < 0) return -1;
                }
                return at;
            }
            default:
                throw new InvalidDataException($"not a RESP reply: type byte 0x{data[pos]:x2}");
        }
    }

    /// <summary>Parses one complete reply (its length from <see cref="FrameLength"/>).</summary>
    public static RespReply Parse(ReadOnlySpan<byte> data)
    {
        var pos = 0;
        return Parse(data, ref pos);
    }

    private static RespReply Parse(ReadOnlySpan<byte> data, ref int pos)
    {
        var line = data[pos..].IndexOf("\r\n"u8);
        var body = data.Slice(pos + 1, line - 1);
        var type = data[pos];
        pos += line + 2;
        switch (type)
        {
            case (byte)'+':
                return new RespReply(RespKind.SimpleString) { Bytes = body.ToArray() };
            case (byte)'-':
                return new RespReply(RespKind.Error) { Bytes = body.ToArray() };
            case (byte)':':
                return new RespReply(RespKind.Integer) { Integer = ParseInteger(body) };
            case (byte)'$':
            {
                var length = ParseLength(body);
                if (length < 0) return Null;
                var bytes = data.Slice(pos, length).ToArray();
                pos += length + 2;
                return new RespReply(RespKind.Bulk) { Bytes = bytes };
            }
            default:
            {
                var count = ParseLength(body);
                if (count < 0) return Null;
                var items = new RespReply[count];
                for (var i = 0; i < count; i++) items[i] = Parse(data, ref pos);
                return new RespReply(RespKind.Array) { Items = items };
            }
        }
    }

    internal static int ParseLength(ReadOnlySpan<byte> digits) => checked((int)ParseInteger(digits));

    private static long ParseInteger(ReadOnlySpan<byte> digits)
    {
        if (!Utf8Parser.TryParse(digits, out long value, out var used) || used != digits.Length)
            throw new InvalidDataException($"not a RESP integer: '{Encoding.ASCII.GetString(digits)}'");
        return value;
    }
}
