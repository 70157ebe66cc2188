using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ZeroDisk.NbdHost.Tests.Serving;

/// <summary>
/// An NBD client on a bare socket, for what real clients never do: option payloads of any bytes, requests sent without
/// reading their replies. Simple replies only (no structured replies are negotiated).
/// </summary>
internal sealed class RawNbdSession : IAsyncDisposable
{
    public const ulong IHaveOpt = 0x49484156454F5054;
    public const uint OptExportName = 1, OptList = 3, OptInfo = 6, OptGo = 7, OptListMetaContext = 9, OptSetMetaContext = 10;
    private const uint RequestMagic = 0x25609513;

    private readonly Socket _socket;

    private RawNbdSession(Socket socket)
    {
        _socket = socket;
        Stream = new NetworkStream(socket, ownsSocket: true);
    }

    public NetworkStream Stream { get; }

    /// <summary>Connects, reads the greeting and sends the client flags (3: fixed newstyle, no zeroes).</summary>
    public static async Task<RawNbdSession> ConnectAsync(int port, uint clientFlags = 3)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
        var session = new RawNbdSession(socket);
        await session.ReadExactAsync(18);
        var flags = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(flags, clientFlags);
        await session.Stream.WriteAsync(flags);
        return session;
    }

    /// <summary>Connects and enters transmission on <paramref name="export"/> with NBD_OPT_GO.</summary>
    public static async Task<RawNbdSession> OpenAsync(int port, string export)
    {
        var session = await ConnectAsync(port);
        await session.SendOptionAsync(OptGo, NameAndInfos(export));
        while (true)
        {
            var (type, _) = await session.ReadOptionReplyAsync();
            if (type == 1) return session; // NBD_REP_ACK
            if ((type & 0x80000000) != 0) throw new InvalidOperationException($"NBD_OPT_GO refused: {type:x}");
        }
    }

    /// <summary>A name as options carry it (length, bytes) followed by an empty list of info requests.</summary>
    public static byte[] NameAndInfos(string name)
    {
        var bytes = Encoding.UTF8.GetBytes(name);
        var data = new byte[4 + bytes.Length + 2];
        BinaryPrimitives.WriteUInt32BigEndian(data, (uint)bytes.Length);
        bytes.CopyTo(data, 4);
        return data;
    }

    public async Task SendOptionAsync(uint option, ReadOnlyMemory<byte> data)
    {
        var header = new byte[16];
        BinaryPrimitives.WriteUInt64BigEndian(header, IHaveOpt);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(8), option);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(12), (uint)data.Length);
        await Stream.WriteAsync(header);
        await Stream.WriteAsync(data);
    }

    /// <summary>One option reply: its type and data.</summary>
    public async Task<(uint Type, byte[] Data)> ReadOptionReplyAsync()
    {
        var header = await ReadExactAsync(20);
        var data = await ReadExactAsync((int)BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(16)));
        return (BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(12)), data);
    }

    /// <summary>Sends one request; with a payload it is a write.</summary>
    public async Task SendRequestAsync(ushort command, ulong handle, ulong offset, uint length, ReadOnlyMemory<byte> payload = default)
    {
        var header = new byte[28];
        BinaryPrimitives.WriteUInt32BigEndian(header, RequestMagic);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(6), command);
        BinaryPrimitives.WriteUInt64BigEndian(header.AsSpan(8), handle);
        BinaryPrimitives.WriteUInt64BigEndian(header.AsSpan(16), offset);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(24), length);
        await Stream.WriteAsync(header);
        if (!payload.IsEmpty) await Stream.WriteAsync(payload);
    }

    /// <summary>One simple reply without data (a write's): its error and handle.</summary>
    public async Task<(uint Error, ulong Handle)> ReadSimpleReplyAsync()
    {
        var reply = await ReadExactAsync(16);
        return (BinaryPrimitives.ReadUInt32BigEndian(reply.AsSpan(4)), BinaryPrimitives.ReadUInt64BigEndian(reply.AsSpan(8)));
    }

    /// <summary>True when the server closed the connection within <paramref name="timeout"/> (what it sends meanwhile is dropped).</summary>
    public async Task<bool> ClosedByServerAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
                if (await Stream.ReadAsync(buffer, cts.Token) == 0) return true;
        }
        catch (OperationCanceledException) { return false; }
        catch (IOException) { return true; }
    }

    public async Task<byte[]> ReadExactAsync(int count)
    {
        var bytes = new byte[count];
        await Stream.ReadExactlyAsync(bytes);
        return bytes;
    }

    public void Abort()
    {
        _socket.LingerState = new LingerOption(true, 0);
        _socket.Close();
    }

    public async ValueTask DisposeAsync() => await Stream.DisposeAsync();
}
