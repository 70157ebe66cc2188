using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using ZeroDisk.Nbd.Protocol;

namespace ZeroDisk.Nbd.Transport;

/// <summary>
/// Serialises replies onto the transport. Replies are appended atomically (under a short lock, no await inside) to
/// a pooled buffer; <see cref="FlushAsync"/> sends what has gathered. One flusher at a time: a flush that finds a
/// send in progress returns at once and the running sender picks the new bytes up, so replies completed on other
/// threads never wait for each other and a burst of inline replies leaves in one send. Large read replies are
/// queued as their own pooled buffers (header + data read straight into it), never copied. Every byte waiting to be
/// sent is charged to the connection's <see cref="ByteBudget"/> (by force: a finished request's reply cannot wait)
/// and released once sent or dropped, so the receive loop stops reading while replies pile up unread.
/// </summary>
internal sealed class ReplyWriter(INbdTransport transport, ByteBudget budget, CancellationToken ct) : IDisposable
{
    private const int GatherSize = 64 * 1024;

    private readonly object _gate = new();
    private readonly Queue<(byte[] Buffer, int Length)> _sealed = new();
    private byte[] _gather = ArrayPool<byte>.Shared.Rent(GatherSize);
    private int _gathered;
    private bool _sending;
    private TaskCompletionSource? _sendEnded; // for DrainAsync: completed when the running send loop ends
    private bool _broken;
    private bool _disposed;

    /// <summary>
    /// True when a full gather buffer (or a large read) waits to be sent: the receive loop then flushes before
    /// parsing on, so a long burst of requests never piles its replies up in memory.
    /// </summary>
    public bool HasFullBuffers => _sealed.Count > 0; // a hint; read without the lock on purpose

    /// <summary>Bytes waiting in full buffers (a hint for backpressure, read without the lock).</summary>
    public long QueuedBytes => Volatile.Read(ref _queuedBytes);

    private long _queuedBytes;

    /// <summary>True once a send failed: the peer is gone and further replies are dropped.</summary>
    public bool IsBroken => Volatile.Read(ref _broken);

    public void Simple(ulong handle, NbdError error)
    {
        lock (_gate)
        {
            if (_broken) return;
            WriteSimpleHeader(Reserve(NbdWire.SimpleReplySize), handle, error);
        }
    }

    public void SimpleWithData(ulong handle, ReadOnlySpan<byte> data)
    {
        lock (_gate)
        {
            if (_broken) return;
            var span = Reserve(NbdWire.SimpleReplySize + data.Length);
            WriteSimpleHeader(span, handle, NbdError.None);
            data.CopyTo(span[NbdWire.SimpleReplySize..]);
        }
    }

    public void StructuredData(ulong handle, ulong offset, ReadOnlySpan<byte> data)
    {
        lock (_gate)
        {
            if (_broken) return;
            var span = Reserve(StructuredDataHeaderSize + data.Length);
            WriteStructuredDataHeader(span, handle, offset, data.Length);
            data.CopyTo(span[StructuredDataHeaderSize..]);
        }
    }

    public void StructuredNone(ulong handle)
    {
        lock (_gate)
        {
            if (_broken) return;
            WriteStructuredHeader(Reserve(NbdWire.StructuredHeaderSize), ReplyType.None, handle, 0);
        }
    }

    public void StructuredError(ulong handle, NbdError error)
    {
        lock (_gate)
        {
            if (_broken) return;
            var span = Reserve(NbdWire.StructuredHeaderSize + 6);
            WriteStructuredHeader(span, ReplyType.Error, handle, 6);
            BinaryPrimitives.WriteUInt32BigEndian(span[20..], (uint)error);
            BinaryPrimitives.WriteUInt16BigEndian(span[24..], 0); // no message
        }
    }

    /// <summary>A base:allocation reply with one extent of <paramref name="length"/> bytes and the given state flags.</summary>
    public void BlockStatus(ulong handle, uint contextId, uint length, uint state)
    {
        lock (_gate)
        {
            if (_broken) return;
            var span = Reserve(NbdWire.StructuredHeaderSize + 12);
            WriteStructuredHeader(span, ReplyType.BlockStatus, handle, 12);
            BinaryPrimitives.WriteUInt32BigEndian(span[20..], contextId);
            BinaryPrimitives.WriteUInt32BigEndian(span[24..], length);
            BinaryPrimitives.WriteUInt32BigEndian(span[28..], state);
        }
    }

    /// <summary>Header size that <see cref="OwnedRead"/> callers leave free at the start of their buffer.</summary>
    public static int ReadHeaderSize(bool structured) => structured ? StructuredDataHeaderSize : NbdWire.SimpleReplySize;

    /// <summary>
    /// Queues a successful read reply whose data already sits in <paramref name="buffer"/> after
    /// <see cref="ReadHeaderSize"/> bytes. Takes ownership of the pooled buffer and of the caller's budget charge
    /// for <paramref name="dataLength"/> bytes.
    /// </summary>
    public void OwnedRead(byte[] buffer, bool structured, ulong handle, ulong offset, int dataLength)
    {
        if (structured) WriteStructuredDataHeader(buffer, handle, offset, dataLength);
        else WriteSimpleHeader(buffer, handle, NbdError.None);
        lock (_gate)
        {
            if (_broken)
            {
                ArrayPool<byte>.Shared.Return(buffer);
                budget.Release(dataLength);
                return;
            }
            if (_gathered > 0) SealGather(GatherSize);
            budget.ForceTake(ReadHeaderSize(structured));
            _sealed.Enqueue((buffer, ReadHeaderSize(structured) + dataLength));
            _queuedBytes += ReadHeaderSize(structured) + dataLength;
        }
    }

    /// <summary>Sends everything appended so far, unless another flush is already doing so.</summary>
    public ValueTask FlushAsync()
    {
        lock (_gate)
        {
            if (_sending || _broken || (_gathered == 0 && _sealed.Count == 0)) return default;
            _sending = true;
        }
        return SendLoopAsync();
    }

    /// <summary>
    /// Sends everything appended so far, after the send another caller has running (a reply left to a send batch, see
    /// INbdBatchingExport): the connection's teardown, so that no reply made before it is dropped.
    /// </summary>
    public async ValueTask DrainAsync()
    {
        while (true)
        {
            Task? running = null;
            lock (_gate)
            {
                if (!_sending)
                {
                    if (_broken || (_gathered == 0 && _sealed.Count == 0)) return;
                    _sending = true;
                }
                else running = (_sendEnded ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
            }
            if (running is null) await SendLoopAsync().ConfigureAwait(false);
            else await running.ConfigureAwait(false);
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask SendLoopAsync()
    {
        while (true)
        {
            byte[] buffer;
            int length;
            lock (_gate)
            {
                if (_sealed.Count > 0)
                {
                    (buffer, length) = _sealed.Dequeue();
                    _queuedBytes -= length;
                }
                else if (_gathered > 0)
                {
                    (buffer, length) = (_gather, _gathered);
                    _gather = ArrayPool<byte>.Shared.Rent(GatherSize);
                    _gathered = 0;
                }
                else
                {
                    EndSending();
                    return;
                }
            }
            try
            {
                await transport.SendAsync(buffer.AsMemory(0, length), ct).ConfigureAwait(false);
            }
            catch (Exception) // the peer is gone or the server stops: drop the rest, end the connection
            {
                lock (_gate)
                {
                    _broken = true;
                    EndSending();
                    ReturnQueued();
                }
                transport.Abort();
                return;
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
                budget.Release(length);
            }
        }
    }

    /// <summary>Called under the gate.</summary>
    private void EndSending()
    {
        _sending = false;
        _sendEnded?.TrySetResult();
        _sendEnded = null;
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            _broken = true;
            ReturnQueued();
            ArrayPool<byte>.Shared.Return(_gather);
            _gather = [];
        }
    }

    private const int StructuredDataHeaderSize = NbdWire.StructuredHeaderSize + 8;

    private Span<byte> Reserve(int size)
    {
        if (_gather.Length - _gathered < size) SealGather(Math.Max(GatherSize, size));
        var span = _gather.AsSpan(_gathered, size);
        _gathered += size;
        budget.ForceTake(size);
        return span;
    }

    private void SealGather(int nextSize)
    {
        if (_gathered > 0)
        {
            _sealed.Enqueue((_gather, _gathered));
            _queuedBytes += _gathered;
        }
        else ArrayPool<byte>.Shared.Return(_gather);
        _gather = ArrayPool<byte>.Shared.Rent(nextSize);
        _gathered = 0;
    }

    private void ReturnQueued()
    {
        var dropped = (long)_gathered;
        while (_sealed.TryDequeue(out var item))
        {
            ArrayPool<byte>.Shared.Return(item.Buffer);
            dropped += item.Length;
        }
        budget.Release(dropped);
        _gathered = 0;
        _queuedBytes = 0;
    }

    private static void WriteSimpleHeader(Span<byte> span, ulong handle, NbdError error)
    {
        BinaryPrimitives.WriteUInt32BigEndian(span, NbdWire.SimpleReplyMagic);
        BinaryPrimitives.WriteUInt32BigEndian(span[4..], (uint)error);
        BinaryPrimitives.WriteUInt64BigEndian(span[8..], handle);
    }

    private static void WriteStructuredHeader(Span<byte> span, ReplyType type, ulong handle, int payloadLength)
    {
        BinaryPrimitives.WriteUInt32BigEndian(span, NbdWire.StructuredReplyMagic);
        BinaryPrimitives.WriteUInt16BigEndian(span[4..], (ushort)ReplyFlags.Done);
        BinaryPrimitives.WriteUInt16BigEndian(span[6..], (ushort)type);
        BinaryPrimitives.WriteUInt64BigEndian(span[8..], handle);
        BinaryPrimitives.WriteUInt32BigEndian(span[16..], (uint)payloadLength);
    }

    private static void WriteStructuredDataHeader(Span<byte> span, ulong handle, ulong offset, int dataLength)
    {
        WriteStructuredHeader(span, ReplyType.OffsetData, handle, 8 + dataLength);
        BinaryPrimitives.WriteUInt64BigEndian(span[20..], offset);
    }
}
