using System.IO.Pipelines;

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

    /// <summary>Ends the connection at once (pending reads and sends fail).</summary>
    void Abort();
}
