using System.Buffers.Binary;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;

namespace ZeroDisk.Nbd.Tests.Support;

/// <summary>
/// A minimal NBD client on a plain socket (simple replies only) for what real clients won't do: pipelining with
/// chosen handles, garbage, oversize requests, vanishing mid-request.
/// </summary>
public sealed class RawNbdClient : IAsyncDisposable
{
    private const uint SimpleReplyMagic = 0x67446698;
    private readonly Socket _socket;
    private Stream _stream;

    private RawNbdClient(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
    }

    public long ExportSize { get; private set; }

    /// <summary>Connects and reads the server greeting, without negotiating an export.</summary>
    public static async Task<RawNbdClient> ConnectRawAsync(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
        var client = new RawNbdClient(socket);
        await client.ReadExactAsync(18);
        return client;
    }

    /// <summary>Connects and enters transmission on <paramref name="export"/> with NBD_OPT_GO.</summary>
    public static async Task<RawNbdClient> ConnectAsync(int port, string export)
    {
        var client = await ConnectRawAsync(port);
        await client.SendAsync(ClientMessages.ClientFlags());
        await client.SendAsync(ClientMessages.Option(ClientMessages.OptGo, ClientMessages.InfoRequest(export)));
        while (true)
        {
            var header = await client.ReadExactAsync(20);
            var type = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(12));
            var data = await client.ReadExactAsync((int)BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(16)));
            if (type == 1) return client; // ACK
            if (type == 3 && BinaryPrimitives.ReadUInt16BigEndian(data) == 0) client.ExportSize = BinaryPrimitives.ReadInt64BigEndian(data.AsSpan(2));
            if ((type & 0x80000000) != 0) throw new InvalidOperationException($"NBD_OPT_GO refused: {type:x}");
        }
    }

    /// <summary>Sends an option and reads its replies up to the final one (ACK or an error).</summary>
    public async Task<List<(uint Type, byte[] Data)>> OptionAsync(uint option, byte[] data)
    {
        await SendAsync(ClientMessages.Option(option, data));
        var replies = new List<(uint Type, byte[] Data)>();
        while (true)
        {
            var header = await ReadExactAsync(20);
            var type = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(12));
            replies.Add((type, await ReadExactAsync((int)BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(16)))));
            if (type == 1 || (type & 0x80000000) != 0) return replies;
        }
    }

    /// <summary>The final reply type of an option (ACK = 1, errors have the high bit set).</summary>
    public async Task<uint> OptionResultAsync(uint option, byte[] data) => (await OptionAsync(option, data))[^1].Type;

    /// <summary>
    /// After an acknowledged NBD_OPT_STARTTLS: the TLS handshake as the client, trusting only <paramref name="ca"/>,
    /// presenting <paramref name="certificate"/> if given. Throws when the server refuses it.
    /// </summary>
    public async Task StartTlsAsync(X509Certificate2 ca, X509Certificate2? certificate)
    {
        var policy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
        policy.CustomTrustStore.Add(ca);
        var tls = new SslStream(_stream, leaveInnerStreamOpen: false);
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            CertificateChainPolicy = policy,
            ClientCertificates = certificate is null ? null : [certificate],
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        });
        _stream = tls; // TLS 1.3: a client certificate the server refuses shows only at the next read
    }

    public Task SendAsync(byte[] bytes) => _stream.WriteAsync(bytes).AsTask();

    public Task SendRequestAsync(ushort command, ulong handle, ulong offset, uint length, ushort flags = 0, byte[]? payload = null) =>
        SendAsync(ClientMessages.Request(command, handle, offset, length, flags, payload));

    /// <summary>Reads one simple reply; <paramref name="dataLength"/> is the data that follows a successful read.</summary>
    public async Task<(uint Error, ulong Handle, byte[] Data)> ReadReplyAsync(Func<ulong, int>? dataLength = null)
    {
        var header = await ReadExactAsync(16);
        var magic = BinaryPrimitives.ReadUInt32BigEndian(header);
        if (magic != SimpleReplyMagic) throw new InvalidOperationException($"not a simple reply: {magic:x}");
        var error = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(4));
        var handle = BinaryPrimitives.ReadUInt64BigEndian(header.AsSpan(8));
        var length = error == 0 && dataLength is not null ? dataLength(handle) : 0;
        return (error, handle, await ReadExactAsync(length));
    }

    /// <summary>True when the server closed the connection (reads end) within the timeout.</summary>
    public async Task<bool> ClosedByServerAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var buffer = new byte[4096];
        try
        {
            while (true)
                if (await _stream.ReadAsync(buffer, cts.Token) == 0) return true;
        }
        catch (OperationCanceledException) { return false; }
        catch (IOException) { return true; }
    }

    public async Task<byte[]> ReadExactAsync(int count)
    {
        var bytes = new byte[count];
        await _stream.ReadExactlyAsync(bytes);
        return bytes;
    }

    /// <summary>Drops the connection without NBD_CMD_DISC (RST on close).</summary>
    public void Vanish()
    {
        _socket.LingerState = new LingerOption(true, 0);
        _socket.Close();
    }

    public async ValueTask DisposeAsync() => await _stream.DisposeAsync();
}
