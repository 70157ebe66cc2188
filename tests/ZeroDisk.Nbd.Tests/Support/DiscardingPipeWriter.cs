using System.IO.Pipelines;

namespace ZeroDisk.Nbd.Tests.Support;

/// <summary>A reply sink that throws bytes away without allocating (unlike a pipe writer over Stream.Null).</summary>
public sealed class DiscardingPipeWriter : PipeWriter
{
    private readonly byte[] _scratch = new byte[256 * 1024];

    public long Written { get; private set; }

    public override void Advance(int bytes) => Written += bytes;

    public override Memory<byte> GetMemory(int sizeHint = 0) =>
        sizeHint <= _scratch.Length ? _scratch : new byte[sizeHint];

    public override Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

    public override ValueTask<FlushResult> WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default)
    {
        Written += source.Length;
        return new ValueTask<FlushResult>(new FlushResult(false, false));
    }

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) =>
        new(new FlushResult(false, false));

    public override void CancelPendingFlush() { }

    public override void Complete(Exception? exception = null) { }
}
