using System.Buffers;

namespace ZeroDisk.LogCollector.Tailing;

/// <summary>What <see cref="LineSplitter.TryReadLine"/> found.</summary>
internal enum LineKind
{
    /// <summary>A complete line (without its newline); its bytes are in <see cref="SplitLine.Bytes"/>.</summary>
    Complete,
    /// <summary>A line longer than the cap, skipped up to and including its newline without being buffered.</summary>
    Overlong,
}

/// <summary>One line: where it starts in the stream, where the next one starts, and (if complete) its bytes.</summary>
internal readonly ref struct SplitLine(LineKind kind, long offset, long nextOffset, ReadOnlySpan<byte> bytes)
{
    public LineKind Kind { get; } = kind;
    public long Offset { get; } = offset;
    public long NextOffset { get; } = nextOffset;
    /// <summary>Valid until the next call on the splitter.</summary>
    public ReadOnlySpan<byte> Bytes { get; } = bytes;
}

/// <summary>
/// Splits a byte stream into newline-terminated lines in one pooled buffer. A line without its newline yet stays
/// buffered until the rest arrives (never published half-written). A line longer than the cap is reported once as
/// overlong when its newline finally arrives; its bytes are dropped as they come, so memory stays at
/// cap + chunk however long the line is.
/// </summary>
internal sealed class LineSplitter : IDisposable
{
    private readonly int _maxLineBytes;
    private readonly int _chunkBytes;
    private byte[]? _buffer;
    private int _start;          // first byte of the current (unfinished) line in _buffer
    private int _end;            // end of valid data in _buffer
    private long _bufferOffset;  // stream offset of _buffer[0]
    private long _overlongStart = -1;

    public LineSplitter(int maxLineBytes, int chunkBytes, long startOffset)
    {
        _maxLineBytes = maxLineBytes;
        _chunkBytes = chunkBytes;
        _bufferOffset = startOffset;
    }

    /// <summary>The stream offset just after the last byte handed in (where the next read starts).</summary>
    public long ReadPosition => _bufferOffset + _end;

    /// <summary>True when no partial line is buffered and none is being skipped.</summary>
    public bool IsAtLineStart => _start == _end && _overlongStart < 0;

    /// <summary>Forget everything and continue at <paramref name="offset"/> (after a truncation).</summary>
    public void Reset(long offset)
    {
        _start = _end = 0;
        _bufferOffset = offset;
        _overlongStart = -1;
        ReturnBuffer();
    }

    /// <summary>Room for the next read; pass the count read to <see cref="Advance"/>.</summary>
    public Memory<byte> GetWriteMemory()
    {
        _buffer ??= ArrayPool<byte>.Shared.Rent(_maxLineBytes + _chunkBytes);
        if (_start > 0)
        {
            // Keep only the unfinished line; everything before it has been handed out.
            var pending = _end - _start;
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, pending);
            _bufferOffset += _start;
            _start = 0;
            _end = pending;
        }
        return _buffer.AsMemory(_end);
    }

    public void Advance(int count) => _end += count;

    public bool TryReadLine(out SplitLine line)
    {
        line = default;
        if (_buffer is null || _start == _end) return false;
        var pending = _buffer.AsSpan(_start, _end - _start);
        var newline = pending.IndexOf((byte)'\n');
        if (_overlongStart >= 0)
        {
            if (newline < 0)
            {
                // Still inside the overlong line: drop what arrived, keep skipping.
                _start = _end;
                return false;
            }
            _start += newline + 1;
            line = new SplitLine(LineKind.Overlong, _overlongStart, _bufferOffset + _start, default);
            _overlongStart = -1;
            ReleaseIfEmpty();
            return true;
        }
        if (newline < 0)
        {
            if (pending.Length > _maxLineBytes)
            {
                _overlongStart = _bufferOffset + _start;
                _start = _end;
            }
            return false;
        }
        var offset = _bufferOffset + _start;
        var bytes = pending[..newline];
        if (bytes.Length > _maxLineBytes)
        {
            _start += newline + 1;
            line = new SplitLine(LineKind.Overlong, offset, _bufferOffset + _start, default);
            return true;
        }
        if (!bytes.IsEmpty && bytes[^1] == (byte)'\r') bytes = bytes[..^1];
        _start += newline + 1;
        line = new SplitLine(LineKind.Complete, offset, _bufferOffset + _start, bytes);
        return true;
    }

    /// <summary>Hand the buffer back to the pool while nothing is pending (an idle stream holds no memory).</summary>
    public void ReleaseIfEmpty()
    {
        if (_buffer is null || _start != _end) return;
        _bufferOffset += _end;
        _start = _end = 0;
        ReturnBuffer();
    }

    private void ReturnBuffer()
    {
        if (_buffer is null) return;
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = null;
    }

    public void Dispose() => ReturnBuffer();
}
