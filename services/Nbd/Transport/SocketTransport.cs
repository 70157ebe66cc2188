using System.IO.Pipelines;
using System.Net.Sockets;

namespace ZeroDisk.Nbd.Transport;

/// <summary>A TCP or unix-domain socket. Input reads the socket only when the parser asks (no read-ahead loop).</summary>
internal sealed class SocketTransport : INbdTransport
{
    // Big enough for a QD32 burst of 4 KiB writes in one receive, small enough to stay out of the LOH.
    private const int ReceiveSegmentSize = 64 * 1024;

    private readonly Socket _socket;
    private readonly NetworkStream _stream;

    public SocketTransport(Socket socket)
    {
        _socket = socket;
        if (socket.ProtocolType == ProtocolType.Tcp) socket.NoDelay = true;
        _stream = new NetworkStream(socket, ownsSocket: true);
        Input = PipeReader.Create(_stream, new StreamPipeReaderOptions(
            bufferSize: ReceiveSegmentSize, minimumReadSize: 16 * 1024, leaveOpen: true));
    }

    public PipeReader Input { get; }

    public ValueTask<int> ReceiveDirectAsync(Memory<byte> destination, CancellationToken ct) =>
        _socket.ReceiveAsync(destination, SocketFlags.None, ct);

    public async ValueTask SendAsync(ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        while (!data.IsEmpty)
        {
            var sent = await _socket.SendAsync(data, SocketFlags.None, ct).ConfigureAwait(false);
            data = data[sent..];
        }
    }

    public void Abort()
    {
        try { _socket.Shutdown(SocketShutdown.Both); }
        catch (SocketException) { }
        catch (ObjectDisposedException) { }
    }

    public async ValueTask DisposeAsync()
    {
        await Input.CompleteAsync().ConfigureAwait(false);
        await _stream.DisposeAsync().ConfigureAwait(false);
    }
}
