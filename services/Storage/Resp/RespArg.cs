using System.Buffers;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using StackExchange.Redis;

namespace ZeroDisk.Storage.Resp;

/// <summary>One argument of a command: bytes, text or an integer, written as a RESP bulk string.</summary>
public readonly struct RespArg
{
    private readonly ReadOnlyMemory<byte> _bytes;
    private readonly string? _text;
    private readonly long _number;
    private readonly byte _kind; // 0 bytes, 1 text, 2 number

    private RespArg(ReadOnlyMemory<byte> bytes, string? text, long number, byte kind)
    {
        _bytes = bytes;
        _text = text;
        _number = number;
        _kind = kind;
    }

    public static implicit operator RespArg(ReadOnlyMemory<byte> bytes) => new(bytes, null, 0, 0);

    public static implicit operator RespArg(byte[] bytes) => new(bytes, null, 0, 0);

    public static implicit operator RespArg(string text) => new(default, text, 0, 1);

    public static implicit operator RespArg(long number) => new(default, null, number, 2);

    /// <summary>A key as StackExchange.Redis spells it (the storage code names its keys with <see cref="RedisKey"/>).</summary>
    public static implicit operator RespArg(RedisKey key) => new((byte[]?)key ?? [], null, 0, 0);

    /// <summary>Appends <c>$len\r\n…\r\n</c>.</summary>
    internal void WriteTo(IBufferWriter<byte> output)
    {
        switch (_kind)
        {
            case 2:
            {
                Span<byte> digits = stackalloc byte[20];
                Utf8Formatter.TryFormat(_number, digits, out var n);
                WriteBulk(output, digits[..n]);
                break;
            }
            case 1:
            {
                var length = Encoding.UTF8.GetByteCount(_text!);
                WriteHeader(output, '$', length);
                Encoding.UTF8.GetBytes(_text, output);
                output.Write("\r\n"u8);
                break;
            }
            default:
                WriteBulk(output, _bytes.Span);
                break;
        }
    }

    internal static void WriteHeader(IBufferWriter<byte> output, char type, int count)
    {
        var span = output.GetSpan(16);
        span[0] = (byte)type;
        Utf8Formatter.TryFormat(count, span[1..], out var n);
        span[1 + n] = (byte)'\r';
        span[2 + n] = (byte)'\n';
        output.Advance(3 + n);
    }

    private static void WriteBulk(IBufferWriter<byte> output, ReadOnlySpan<byte> bytes)
    {
        WriteHeader(output, '$', bytes.Length);
        output.Write(bytes);
        output.Write("\r\n"u8);
    }
}

/// <summary>A Lua script run by its SHA1 (EVALSHA), its text sent only when the engine does not have it yet.</summary>
public sealed class RespScript(string text)
{
    public byte[] Text { get; } = Encoding.UTF8.GetBytes(text);

    public string Sha1 { get; } = Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(text)));
}
