using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ZeroDisk.FaultCheck;

/// <summary>The outcome of one NBD request: 0 is success, otherwise the NBD error (5 = EIO); null data unless a read.</summary>
public readonly record struct NbdReply(uint Error, byte[]? Data);

/// <summary>
/// A small NBD client for the workload: fixed newstyle handshake, NBD_OPT_GO, simple replies, one request at a time.
/// It speaks the real protocol to the real <c>nbdhost serve</c>, so every write's invocation and completion are the
/// client's own (what a history checker needs); qemu-io per write would cost a process per operation.
/// </summary>
public sealed class NbdConnection : IAsyncDisposable
{
    public const ushort Read = 0, Write = 1, Disconnect = 2, Flush = 3, Trim = 4, WriteZeroes = 6;
    private const ulong OptionMagic = 0x49484156454F5054; // "IHAVEOPT"
    private const ulong OptionReplyMagic = 0x3e889045565a9;
    private const uint RequestMagic = 0x25609513, SimpleReplyMagic = 0x67446698;
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private ulong _handle;

    private NbdConnection(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
    }

    public long ExportSize { get; private set; }

    public static async Task<NbdConnection> ConnectAsync(int port, string export, CancellationToken ct)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), ct);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        var connection = new NbdConnection(socket);
        try
        {
            var greeting = await connection.ReadExactAsync(18, ct);
            if (BinaryPrimitives.ReadUInt64BigEndian(greeting.AsSpan(8)) != OptionMagic) throw new IOException("not a newstyle NBD server");
            var flags = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(flags, 3); // FIXED_NEWSTYLE | NO_ZEROES
            await connection._stream.WriteAsync(flags, ct);
            var name = Encoding.UTF8.GetBytes(export);
            var option = new byte[16 + 4 + name.Length + 2];
            BinaryPrimitives.WriteUInt64BigEndian(option, OptionMagic);
            BinaryPrimitives.WriteUInt32BigEndian(option.AsSpan(8), 7); // NBD_OPT_GO
            BinaryPrimitives.WriteUInt32BigEndian(option.AsSpan(12), (uint)(4 + name.Length + 2));
            BinaryPrimitives.WriteUInt32BigEndian(option.AsSpan(16), (uint)name.Length);
            name.CopyTo(option.AsSpan(20));
            await connection._stream.WriteAsync(option, ct);
            while (true)
            {
                var header = await connection.ReadExactAsync(20, ct);
                if (BinaryPrimitives.ReadUInt64BigEndian(header) != OptionReplyMagic) throw new IOException("bad option reply");
                var type = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(12));
                var data = await connection.ReadExactAsync((int)BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(16)), ct);
                if (type == 1) return connection; // NBD_REP_ACK
                if (type == 3 && BinaryPrimitives.ReadUInt16BigEndian(data) == 0) connection.ExportSize = BinaryPrimitives.ReadInt64BigEndian(data.AsSpan(2));
                if ((type & 0x80000000) != 0) throw new IOException($"NBD_OPT_GO for '{export}' refused: 0x{type:x} {Encoding.UTF8.GetString(data)}");
            }
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>One request and its reply. Throws (IOException, timeout) when the connection breaks: the outcome is then unknown.</summary>
    public async Task<NbdReply> RequestAsync(ushort command, long offset, int length, byte[]? payload, CancellationToken ct)
    {
        var handle = ++_handle;
        var request = new byte[28 + (payload?.Length ?? 0)];
        BinaryPrimitives.WriteUInt32BigEndian(request, RequestMagic);
        BinaryPrimitives.WriteUInt16BigEndian(request.AsSpan(6), command);
        BinaryPrimitives.WriteUInt64BigEndian(request.AsSpan(8), handle);
        BinaryPrimitives.WriteUInt64BigEndian(request.AsSpan(16), (ulong)offset);
        BinaryPrimitives.WriteUInt32BigEndian(request.AsSpan(24), (uint)length);
        payload?.CopyTo(request.AsSpan(28));
        await _stream.WriteAsync(request, ct);
        var reply = await ReadExactAsync(16, ct);
        if (BinaryPrimitives.ReadUInt32BigEndian(reply) != SimpleReplyMagic) throw new IOException("bad reply magic");
        if (BinaryPrimitives.ReadUInt64BigEndian(reply.AsSpan(8)) != handle) throw new IOException("reply for another handle");
        var error = BinaryPrimitives.ReadUInt32BigEndian(reply.AsSpan(4));
        var data = command == Read && error == 0 ? await ReadExactAsync(length, ct) : null;
        return new NbdReply(error, data);
    }

    private async Task<byte[]> ReadExactAsync(int count, CancellationToken ct)
    {
        var bytes = new byte[count];
        await _stream.ReadExactlyAsync(bytes, ct);
        return bytes;
    }

    public async ValueTask DisposeAsync()
    {
        try { _socket.Shutdown(SocketShutdown.Both); }
        catch (SocketException) { /* already gone */ }
        catch (ObjectDisposedException) { /* already gone */ }
        await _stream.DisposeAsync();
    }
}
