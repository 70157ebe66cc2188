using System.Buffers;
using System.Security.Cryptography;
using System.Text;

namespace ZeroDisk.Tlog;

/// <summary>
/// The tlog cluster's shared secret and the challenge/response built on it. Every connection starts with the
/// server's Challenge frame (a flag "secret required" and a fresh 32-byte nonce). A client with the secret answers
/// Authenticate: its own nonce and HMAC-SHA256(secret, "zerodisk-tlog client" ‖ server nonce ‖ client nonce); the
/// server checks it in fixed time and proves it holds the secret too with Authenticated: HMAC-SHA256(secret,
/// "zerodisk-tlog server" ‖ server nonce ‖ client nonce). Both nonces are fresh per connection, so a recorded
/// exchange cannot be replayed against either side, and the secret never crosses the wire. A client with a secret
/// refuses a server that asks for none (it could be anyone's). This authenticates the peers at connection start; it
/// does not encrypt or sign the frames after it (docs/SECURITY.md).
/// </summary>
public sealed class TlogSecret
{
    public const int NonceLength = 32;
    public const int MacLength = 32;

    /// <summary>Where the secret file comes from, for the NBD server's writers and the tools (environment form <c>TLOG_SECRET_FILE</c>).</summary>
    public const string FileKey = "TLOG_SECRET_FILE";

    private static readonly byte[] ClientLabel = Encoding.ASCII.GetBytes("zerodisk-tlog client");
    private static readonly byte[] ServerLabel = Encoding.ASCII.GetBytes("zerodisk-tlog server");

    private readonly byte[] _key;

    private TlogSecret(byte[] key) => _key = key;

    /// <summary>The secret in a file: its bytes, without surrounding whitespace (so <c>echo … &gt; file</c> works). At least 16 bytes.</summary>
    public static TlogSecret FromFile(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var text = Encoding.UTF8.GetString(bytes).Trim();
        var key = Encoding.UTF8.GetBytes(text);
        if (key.Length < 16) throw new InvalidDataException($"tlog secret file {path} holds {key.Length} bytes; at least 16 are needed");
        return new TlogSecret(key);
    }

    /// <summary>The secret file named by <c>TLOG_SECRET_FILE</c> (or the given path), or null when none is named.</summary>
    public static TlogSecret? FromFileOrNone(string? path) => string.IsNullOrWhiteSpace(path) ? null : FromFile(path);

    public static byte[] NewNonce() => RandomNumberGenerator.GetBytes(NonceLength);

    public byte[] ClientProof(ReadOnlySpan<byte> serverNonce, ReadOnlySpan<byte> clientNonce) => Mac(ClientLabel, serverNonce, clientNonce);

    public byte[] ServerProof(ReadOnlySpan<byte> serverNonce, ReadOnlySpan<byte> clientNonce) => Mac(ServerLabel, serverNonce, clientNonce);

    public static bool Same(ReadOnlySpan<byte> expected, ReadOnlySpan<byte> presented) =>
        expected.Length == presented.Length && CryptographicOperations.FixedTimeEquals(expected, presented);

    private byte[] Mac(byte[] label, ReadOnlySpan<byte> serverNonce, ReadOnlySpan<byte> clientNonce)
    {
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, _key);
        hmac.AppendData(label);
        hmac.AppendData(serverNonce);
        hmac.AppendData(clientNonce);
        return hmac.GetHashAndReset();
    }

    public override string ToString() => "(tlog secret)"; // never the bytes, wherever it is logged
}

/// <summary>The authentication frames' bodies.</summary>
internal static class TlogAuthFrames
{
    public static void WriteChallenge(IBufferWriter<byte> output, bool required, ReadOnlySpan<byte> nonce)
    {
        var span = output.GetSpan(TlogFrames.HeaderLength + 1 + TlogSecret.NonceLength);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(span, 2 + TlogSecret.NonceLength);
        span[4] = (byte)TlogFrameType.Challenge;
        span[5] = required ? (byte)1 : (byte)0;
        nonce.CopyTo(span[6..]);
        output.Advance(TlogFrames.HeaderLength + 1 + TlogSecret.NonceLength);
    }

    public static (bool Required, byte[] Nonce) ReadChallenge(ReadOnlySequence<byte> body)
    {
        if (body.Length != 1 + TlogSecret.NonceLength) throw new InvalidDataException("tlog challenge has the wrong length");
        var bytes = body.ToArray();
        return (bytes[0] != 0, bytes[1..]);
    }

    /// <summary>Authenticate: client nonce and proof; Authenticated: the server's proof alone.</summary>
    public static void WriteBytes(IBufferWriter<byte> output, TlogFrameType type, ReadOnlySpan<byte> first, ReadOnlySpan<byte> second = default)
    {
        var length = first.Length + second.Length;
        var span = output.GetSpan(TlogFrames.HeaderLength + length);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(span, 1 + length);
        span[4] = (byte)type;
        first.CopyTo(span[5..]);
        second.CopyTo(span[(5 + first.Length)..]);
        output.Advance(TlogFrames.HeaderLength + length);
    }
}
