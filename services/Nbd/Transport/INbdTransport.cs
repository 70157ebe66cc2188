using System.IO.Pipelines;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace ZeroDisk.Nbd.Transport;

/// <summary>
/// A byte stream to one client. <see cref="Input"/> is where requests are parsed; <see cref="ReceiveDirectAsync"/>
/// lets a large WRITE payload land straight in its own buffer instead of passing through the pipe's segments.
/// </summary>
internal interface INbdTransport : IAsyncDisposable
{
    PipeReader Input { get; }

    /// <summary>
    /// Reads past <see cref="Input"/>: only valid when everything Input buffered has been consumed and no read is
    /// pending on it. Returns 0 at end of stream.
    /// </summary>
    ValueTask<int> ReceiveDirectAsync(Memory<byte> destination, CancellationToken ct);

    /// <summary>Sends all bytes. Callers serialise sends (one at a time).</summary>
    ValueTask SendAsync(ReadOnlyMemory<byte> data, CancellationToken ct);

    /// <summary>
    /// Runs the TLS handshake as the server (after NBD_OPT_STARTTLS was acknowledged); from then on <see cref="Input"/>,
    /// <see cref="ReceiveDirectAsync"/> and <see cref="SendAsync"/> carry plaintext over TLS. Only valid when Input
    /// holds nothing unread. Returns the client's certificate (verified by the options' policy), or null when it sent
    /// none. Throws when the handshake fails: the connection is then unusable.
    /// </summary>
    ValueTask<X509Certificate?> StartTlsAsync(SslServerAuthenticationOptions options, CancellationToken ct);

    /// <summary>Ends the connection at once (pending reads and sends fail).</summary>
    void Abort();
}
