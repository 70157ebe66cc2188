using System.Buffers;
using System.IO.Pipelines;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace ZeroDisk.Nbd.Transport;

/// <summary>
/// An in-memory client: requests come from a <see cref="PipeReader"/>, replies go to a <see cref="PipeWriter"/>.
/// Lets tests (the fuzzer above all) run whole sessions without sockets.
/// </summary>
internal sealed class PipeTransport(PipeReader input, PipeWriter output) : INbdTransport
{
    private readonly CancellationTokenSource _aborted = new();

    public PipeReader Input { get; } = input;

    public async ValueTask<int> ReceiveDirectAsync(Memory<byte> destination, CancellationToken ct)
    {
        var result = await Input.ReadAsync(ct).ConfigureAwait(false);
        var buffer = result.Buffer;
        var n = (int)Math.Min(buffer.Length, destination.Length);
        buffer.Slice(0, n).CopyTo(destination.Span);
        Input.AdvanceTo(buffer.GetPosition(n));
        return n;
    }

    public async ValueTask SendAsync(ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        if (_aborted.IsCancellationRequested) throw new IOException("transport aborted");
        var result = await output.WriteAsync(data, ct).ConfigureAwait(false);
        if (result.IsCompleted) throw new IOException("peer stopped reading");
    }

    /// <summary>
    /// In-memory sessions are whole byte streams written ahead, and the handshake closes a connection that sent
    /// anything past STARTTLS before its acknowledgement: TLS is never reached here (tests run it over sockets).
    /// </summary>
    public ValueTask<X509Certificate?> StartTlsAsync(SslServerAuthenticationOptions options, CancellationToken ct) =>
        ValueTask.FromException<X509Certificate?>(new IOException("TLS runs over sockets only"));

    public void Abort()
    {
        _aborted.Cancel();
        Input.CancelPendingRead();
    }

    public async ValueTask DisposeAsync()
    {
        await Input.CompleteAsync().ConfigureAwait(false);
        await output.CompleteAsync().ConfigureAwait(false);
        _aborted.Dispose();
    }
}
