using System.Buffers;
using System.IO.Pipelines;

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
