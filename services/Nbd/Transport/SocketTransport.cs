using System.IO.Pipelines;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;

namespace ZeroDisk.Nbd.Transport;

/// <summary>
/// A TCP or unix-domain socket, in plaintext or, after NBD_OPT_STARTTLS, through an <see cref="SslStream"/> over it.
/// Input reads only when the parser asks (no read-ahead loop). With TLS the pipe reads decrypted records from the
/// SslStream and sends go through it; nothing else changes, so the receive and reply paths are the same code.
/// </summary>
internal sealed class SocketTransport : INbdTransport
{
    // Big enough for a QD32 burst of 4 KiB writes in one receive, small enough to stay out of the LOH.
    private const int ReceiveSegmentSize = 64 * 1024;

    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private SslStream? _tls;

    public SocketTransport(Socket socket)
    {
        _socket = socket;
        if (socket.ProtocolType == ProtocolType.Tcp) socket.NoDelay = true;
        _stream = new NetworkStream(socket, ownsSocket: true);
        Input = ReaderOver(_stream);
    }

    public PipeReader Input { get; private set; }

    public ValueTask<int> ReceiveDirectAsync(Memory<byte> destination, CancellationToken ct) =>
        _tls is { } tls ? tls.ReadAsync(destination, ct) : _socket.ReceiveAsync(destination, SocketFlags.None, ct);

    public async ValueTask SendAsync(ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        if (_tls is { } tls)
        {
            await tls.WriteAsync(data, ct).ConfigureAwait(false);
            return;
        }
        while (!data.IsEmpty)
        {
            var sent = await _socket.SendAsync(data, SocketFlags.None, ct).ConfigureAwait(false);
            data = data[sent..];
        }
    }

    public async ValueTask<X509Certificate?> StartTlsAsync(SslServerAuthenticationOptions options, CancellationToken ct)
    {
        if (_tls is not null) throw new InvalidOperationException("TLS is already on");
        await Input.CompleteAsync().ConfigureAwait(false); // the plaintext reader holds nothing unread (the caller checked)
        var tls = new SslStream(_stream, leaveInnerStreamOpen: true);
        _tls = tls; // disposed with the transport even if the handshake fails
        await tls.AuthenticateAsServerAsync(options, ct).ConfigureAwait(false);
        Input = ReaderOver(tls);
        return tls.RemoteCertificate;
    }

    private static PipeReader ReaderOver(Stream stream) =>
        PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: ReceiveSegmentSize, minimumReadSize: 16 * 1024, leaveOpen: true));

    public void Abort()
    {
        try { _socket.Shutdown(SocketShutdown.Both); }
        catch (SocketException) { }
        catch (ObjectDisposedException) { }
    }

    public async ValueTask DisposeAsync()
    {
        await Input.CompleteAsync().ConfigureAwait(false);
        if (_tls is not null) await _tls.DisposeAsync().ConfigureAwait(false);
        await _stream.DisposeAsync().ConfigureAwait(false);
    }
}
