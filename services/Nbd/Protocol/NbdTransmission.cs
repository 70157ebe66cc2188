using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using ZeroDisk.Nbd.Server;
using ZeroDisk.Nbd.Transport;

namespace ZeroDisk.Nbd.Protocol;

/// <summary>
/// The transmission phase of one connection. The receive loop parses requests straight from the pipe and starts
/// each one inline: a request whose export call completes synchronously (memory, cached data) is answered
/// without a thread hop or an allocation, and its reply leaves with the rest of the burst when the loop runs
/// out of buffered input. A request that has to wait (a real backend) keeps running on its own while the loop
/// goes on parsing, up to <see cref="NbdServerOptions.MaxInFlightPerConnection"/> at once; it then flushes its
/// own reply. Replies may leave out of order; handles are echoed. Memory is bounded by a byte budget (this
/// connection's, inside the server's): a request's payload or read data is taken from it before its buffer is rented,
/// replies are charged until they leave, and the loop stops reading requests while there is no room.
/// </summary>
internal sealed class NbdTransmission
{
    // Read replies at least this big are sent from the buffer the export read into, not copied into the gather buffer.
    private const int DirectReplyThreshold = 64 * 1024;

    private readonly INbdTransport _transport;
    private readonly NegotiatedExport _negotiated;
    private readonly INbdExport _export;
    private readonly ILogger _logger;
    private readonly CancellationToken _ct;
    private readonly ReplyWriter _replies;
    private readonly SemaphoreSlim _slots;
    private readonly int _maxInFlight;
    private readonly long _size;
    private readonly ByteBudget _budget;
    private readonly Func<ValueTask> _flushBeforeWaiting;
    private readonly INbdBatchingExport? _batching;
    private readonly Action _sendJoinedReplies;

    // 1 while late replies have joined a send batch (INbdBatchingExport) that will send them: later ones need not join.
    private int _repliesJoinedBatch;

    // True while the receive loop holds a send batch open on the thread it runs on (set and cleared by the loop alone).
    private bool _batchOpen;

    // Set while the receive loop is running a request inline, so that request leaves its reply to the loop's flush.
    private bool _dispatchingInline;

    // A send of large replies that outlives the batch that started it, so the loop reads on while it drains.
    private Task? _backgroundSend;
    private const long MaxQueuedReplyBytes = 8 * 1024 * 1024;
    private int _dispatchThread;

    public NbdTransmission(INbdTransport transport, NegotiatedExport negotiated, NbdServerOptions options, ByteBudget serverMemory, ILogger logger, CancellationToken ct)
    {
        _transport = transport;
        _negotiated = negotiated;
        _export = negotiated.Export;
        _logger = logger;
        _ct = ct;
        _maxInFlight = Math.Max(1, options.MaxInFlightPerConnection);
        _slots = new SemaphoreSlim(_maxInFlight, _maxInFlight);
        _budget = new ByteBudget(options.MaxBufferedBytesPerConnection, serverMemory);
        _replies = new ReplyWriter(transport, _budget, ct);
        _flushBeforeWaiting = StartSendingReplies;
        _batching = _export as INbdBatchingExport;
        _sendJoinedReplies = SendJoinedReplies;
        _size = _export.Size;
    }

    public async Task RunAsync()
    {
        NbdMetrics.ConnectionOpened(_negotiated.Name);
        try
        {
            await ReceiveLoopAsync().ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_ct.IsCancellationRequested) { }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or ObjectDisposedException)
        {
            _logger.LogDebug(e, "NBD connection to {Export} ended", _negotiated.LogName);
        }
        finally
        {
            // Requests still running keep their buffers and the writer: wait for every one before tearing down.
            for (var i = 0; i < _maxInFlight; i++) await _slots.WaitAsync(CancellationToken.None).ConfigureAwait(false);
            if (_backgroundSend is not null) await _backgroundSend.ConfigureAwait(false);
            await _replies.DrainAsync().ConfigureAwait(false); // late replies may have left their send to a batch
            _replies.Dispose();
            _budget.Close();
            _slots.Dispose();
            NbdMetrics.ConnectionClosed(_negotiated.Name);
        }
    }

    private async Task ReceiveLoopAsync()
    {
        var input = _transport.Input;
        while (true)
        {
            var result = await input.ReadAsync(_ct).ConfigureAwait(false);
            if (result.IsCanceled) return;
            var buffer = result.Buffer;
            var advanced = false;
            try
            {
                while (!advanced)
                {
                    if (!TryParseHeader(buffer, out var magic, out var request)) break;
                    // The requests of this burst are started in one send batch: the export sends what they ask of it together.
                    OpenBatch();
                    if (magic != NbdWire.RequestMagic)
                    {
                        _logger.LogDebug("NBD request with bad magic {Magic:x8} on {Export}; closing", magic, _negotiated.LogName);
                        input.AdvanceTo(buffer.End);
                        return;
                    }

                    if (request.Command == NbdCommand.Write)
                    {
                        if (request.Length > NbdWire.MaxPayload)
                        {
                            // The payload cannot be buffered and skipping up to 4 GiB on trust is not safe: answer, then close.
                            ReplyError(request, NbdError.EINVAL);
                            input.AdvanceTo(buffer.End);
                            return;
                        }
                        var payloadLength = (int)request.Length;
                        var error = Validate(request);
                        var available = buffer.Length - NbdWire.RequestHeaderSize;
                        if (available >= payloadLength)
                        {
                            var payload = buffer.Slice(NbdWire.RequestHeaderSize, payloadLength);
                            buffer = buffer.Slice(payload.End);
                            if (error != NbdError.None) ReplyError(request, error);
                            else await BeforeWaiting(DispatchWriteAsync(request, payload)).ConfigureAwait(false);
                            continue;
                        }

                        // A large write: its payload is received outside the batch, which sends what the burst asked so far.
                        CloseBatch();
                        // The payload is still on its way: take what is buffered, then receive the rest straight into place.
                        // Replies made so far leave first, so they never wait for the rest of a large payload.
                        var partial = buffer.Slice(NbdWire.RequestHeaderSize);
                        await _replies.FlushAsync().ConfigureAwait(false);
                        if (error != NbdError.None)
                        {
                            input.AdvanceTo(buffer.End);
                            advanced = true;
                            if (!await SkipAsync(payloadLength - partial.Length).ConfigureAwait(false)) return;
                            ReplyError(request, error);
                            continue;
                        }
                        // Room first, then the buffer: a header alone never makes the server rent its payload's size.
                        await TakeAsync(payloadLength).ConfigureAwait(false);
                        var data = ArrayPool<byte>.Shared.Rent(Math.Max(payloadLength, 1));
                        partial.CopyTo(data);
                        input.AdvanceTo(buffer.End);
                        advanced = true;
                        if (!await ReceiveDirectAsync(data.AsMemory((int)partial.Length, payloadLength - (int)partial.Length)).ConfigureAwait(false))
                        {
                            ArrayPool<byte>.Shared.Return(data);
                            _budget.Release(payloadLength);
                            return;
                        }
                        await AcquireSlotAsync().ConfigureAwait(false);
                        await DispatchAsync(request, data, payloadLength).ConfigureAwait(false);
                        continue;
                    }

                    buffer = buffer.Slice(NbdWire.RequestHeaderSize);
                    if (request.Command == NbdCommand.Disconnect)
                    {
                        input.AdvanceTo(buffer.End);
                        return; // the finally of RunAsync answers what is in flight, then the connection closes
                    }
                    var failure = Validate(request);
                    if (failure != NbdError.None)
                    {
                        ReplyError(request, failure);
                        continue;
                    }
                    // A read holds its data until the reply leaves; other commands take nothing but still wait while
                    // unsent replies fill the budget, so a client that never reads stops being read.
                    var charge = request.Command == NbdCommand.Read ? request.Length : 0;
                    await BeforeWaiting(TakeAsync(charge)).ConfigureAwait(false);
                    await BeforeWaiting(AcquireSlotAsync()).ConfigureAwait(false);
                    await BeforeWaiting(DispatchAsync(request, null, charge)).ConfigureAwait(false);
                }
            }
            finally
            {
                CloseBatch();
            }

            await SendRepliesAsync().ConfigureAwait(false);
            if (_replies.IsBroken) return;
            if (!advanced)
            {
                if (result.IsCompleted)
                {
                    input.AdvanceTo(buffer.End);
                    return;
                }
                input.AdvanceTo(buffer.Start, buffer.End);
            }
        }
    }

    /// <summary>
    /// A send batch covers only what runs synchronously on its thread: the receive loop opens one (if it has none open)
    /// before each request, and closes it before it awaits anything that has to wait (<see cref="BeforeWaiting"/>), at a
    /// large write's payload and at the end of the burst, each time in the loop's own frame, so an open and its close
    /// always run on the same thread, whichever thread the loop resumes on.
    /// </summary>
    private void OpenBatch()
    {
        if (_batchOpen || _batching is null) return;
        _batching.OpenBatch();
        _batchOpen = true;
    }

    private void CloseBatch()
    {
        if (!_batchOpen) return;
        _batchOpen = false;
        _batching!.CloseBatch(); // sends what the burst asked of the export so far
    }

    /// <summary>Closes the batch when <paramref name="pending"/> has to wait; the next request opens one again.</summary>
    private ValueTask BeforeWaiting(ValueTask pending)
    {
        if (!pending.IsCompleted) CloseBatch();
        return pending;
    }

    private static bool TryParseHeader(in ReadOnlySequence<byte> buffer, out uint magic, out NbdRequest request)
    {
        var reader = new SequenceReader<byte>(buffer);
        return NbdRequest.TryRead(ref reader, out magic, out request);
    }

    private NbdError Validate(in NbdRequest request)
    {
        if ((request.Flags & ~CommandFlags.Known) != 0) return NbdError.EINVAL;
        var writes = request.Command is NbdCommand.Write or NbdCommand.Trim or NbdCommand.WriteZeroes;
        if (writes && _export.ReadOnly) return NbdError.EPERM;
        switch (request.Command)
        {
            case NbdCommand.Read:
                if (request.Length > NbdWire.MaxPayload) return NbdError.EINVAL;
                return request.InRange(_size) ? NbdError.None : NbdError.EINVAL;
            case NbdCommand.Write:
                return request.InRange(_size) ? NbdError.None : NbdError.ENOSPC;
            case NbdCommand.Flush:
                return NbdError.None;
            case NbdCommand.Trim:
                return request.InRange(_size) ? NbdError.None : NbdError.EINVAL;
            case NbdCommand.WriteZeroes:
                if (!request.InRange(_size)) return NbdError.ENOSPC;
                // We cannot promise a zero faster than a write on every backend; proto.md: fail such requests at once.
                return (request.Flags & CommandFlags.FastZero) != 0 ? NbdError.ENOTSUP : NbdError.None;
            case NbdCommand.BlockStatus:
                if (!_negotiated.BaseAllocation || request.Length == 0) return NbdError.EINVAL;
                return request.InRange(_size) ? NbdError.None : NbdError.EINVAL;
            default:
                return NbdError.EINVAL;
        }
    }

    private async ValueTask AcquireSlotAsync()
    {
        if (_slots.Wait(0)) return;
        // All slots busy on a slow backend: let the replies already made go before waiting for one to finish.
        await _replies.FlushAsync().ConfigureAwait(false);
        await _slots.WaitAsync(_ct).ConfigureAwait(false);
    }

    private async ValueTask DispatchWriteAsync(NbdRequest request, ReadOnlySequence<byte> payload)
    {
        await TakeAsync(payload.Length).ConfigureAwait(false);
        var data = ArrayPool<byte>.Shared.Rent(Math.Max((int)payload.Length, 1));
        payload.CopyTo(data);
        await AcquireSlotAsync().ConfigureAwait(false);
        await DispatchAsync(request, data, payload.Length).ConfigureAwait(false);
    }

    /// <summary>Takes room for <paramref name="bytes"/> from the budget; synchronous while there is room.</summary>
    private ValueTask TakeAsync(long bytes) =>
        _budget.TryTake(bytes, out _) ? default : _budget.TakeAsync(bytes, _flushBeforeWaiting, _ct);

    private ValueTask DispatchAsync(in NbdRequest request, byte[]? payload, long charged)
    {
        _dispatchThread = Environment.CurrentManagedThreadId;
        _dispatchingInline = true;
        _ = ExecuteAsync(request, payload, charged); // never throws: every outcome becomes a reply
        _dispatchingInline = false;
        return _replies.HasFullBuffers ? SendRepliesAsync() : default;
    }

    /// <summary>
    /// Starts sending the replies made so far. A send that cannot finish at once (large reads, a full socket buffer)
    /// carries on by itself while the loop parses more requests; the loop waits for it only when more than
    /// <see cref="MaxQueuedReplyBytes"/> are queued, which bounds a connection's reply memory.
    /// </summary>
    private ValueTask SendRepliesAsync()
    {
        StartSendingReplies();
        return _replies.QueuedBytes > MaxQueuedReplyBytes && _backgroundSend is { IsCompleted: false } pending
            ? new ValueTask(pending)
            : default;
    }

    /// <summary>Starts sending the replies made so far without waiting for a send that cannot finish at once.</summary>
    private ValueTask StartSendingReplies()
    {
        var send = _replies.FlushAsync();
        if (send.IsCompleted) send.GetAwaiter().GetResult();
        else _backgroundSend = send.AsTask();
        return default;
    }

    /// <summary>
    /// Runs one request and replies. Owns one in-flight slot, the payload buffer and <paramref name="charged"/> bytes of
    /// the budget, and releases all three (a large read hands its charge on to the reply, released once sent).
    /// </summary>
    private async Task ExecuteAsync(NbdRequest request, byte[]? payload, long charged)
    {
        var started = Stopwatch.GetTimestamp();
        var ok = true;
        try
        {
            switch (request.Command)
            {
                case NbdCommand.Read:
                    if (await ReadAsync(request).ConfigureAwait(false)) charged = 0;
                    break;
                case NbdCommand.Write:
                    await _export.WriteAsync((long)request.Offset, payload.AsMemory(0, (int)request.Length), Fua(request), _ct).ConfigureAwait(false);
                    _replies.Simple(request.Handle, NbdError.None);
                    break;
                case NbdCommand.Flush:
                    await _export.FlushAsync(_ct).ConfigureAwait(false);
                    _replies.Simple(request.Handle, NbdError.None);
                    break;
                case NbdCommand.Trim:
                    if (request.Length > 0) await _export.TrimAsync((long)request.Offset, request.Length, Fua(request), _ct).ConfigureAwait(false);
                    _replies.Simple(request.Handle, NbdError.None);
                    break;
                case NbdCommand.WriteZeroes:
                    if (request.Length > 0)
                        await _export.WriteZeroesAsync((long)request.Offset, request.Length,
                            (request.Flags & CommandFlags.NoHole) != 0, Fua(request), _ct).ConfigureAwait(false);
                    _replies.Simple(request.Handle, NbdError.None);
                    break;
                case NbdCommand.BlockStatus:
                    // Every byte is reported as allocated data: always true, and all base:allocation promises.
                    _replies.BlockStatus(request.Handle, NbdWire.BaseAllocationContextId, request.Length, 0);
                    break;
                default:
                    ok = false;
                    ReplyError(request, NbdError.EINVAL);
                    break;
            }
        }
        catch (Exception e)
        {
            ok = false;
            ReplyError(request, ErrorFor(e, request));
        }
        NbdMetrics.Answered(_negotiated.Name, request.Command, request.Length, ok, started);
        if (payload is not null) ArrayPool<byte>.Shared.Return(payload);
        _budget.Release(charged);
        try
        {
            // Inline requests leave their reply to the receive loop's flush; late ones send it themselves, before
            // giving the slot back, so a connection that waits for all its slots knows every reply was handed on.
            if (!_dispatchingInline || _dispatchThread != Environment.CurrentManagedThreadId)
                await SendLateRepliesAsync().ConfigureAwait(false);
        }
        finally
        {
            _slots.Release();
        }
    }

    /// <summary>
    /// Sends the replies of requests that completed after their dispatch, or leaves them to the export's send batch open
    /// on this thread (a burst of completions, <see cref="INbdBatchingExport"/>): one send for the burst. Either way the
    /// reply is in the writer before the request gives its slot back; the connection's teardown drains the writer.
    /// </summary>
    private ValueTask SendLateRepliesAsync()
    {
        if (_batching is null) return _replies.FlushAsync();
        if (Interlocked.CompareExchange(ref _repliesJoinedBatch, 1, 0) != 0) return default; // a batch sends them
        if (_batching.TryDefer(_sendJoinedReplies)) return default;
        Volatile.Write(ref _repliesJoinedBatch, 0);
        return _replies.FlushAsync();
    }

    /// <summary>Run when the batch closes: sends every reply made so far (a send that cannot finish at once carries on by itself).</summary>
    private void SendJoinedReplies()
    {
        Volatile.Write(ref _repliesJoinedBatch, 0);
        var send = _replies.FlushAsync();
        if (send.IsCompleted) send.GetAwaiter().GetResult();
    }

    /// <summary>Reads and replies; true when the reply took over the request's budget charge (a large read).</summary>
    private async ValueTask<bool> ReadAsync(NbdRequest request)
    {
        var length = (int)request.Length;
        var structured = _negotiated.StructuredReplies;
        if (length == 0)
        {
            if (structured) _replies.StructuredNone(request.Handle);
            else _replies.Simple(request.Handle, NbdError.None);
            return false;
        }
        if (length >= DirectReplyThreshold)
        {
            var headerSize = ReplyWriter.ReadHeaderSize(structured);
            var reply = ArrayPool<byte>.Shared.Rent(headerSize + length);
            try
            {
                await _export.ReadAsync((long)request.Offset, reply.AsMemory(headerSize, length), _ct).ConfigureAwait(false);
            }
            catch
            {
                ArrayPool<byte>.Shared.Return(reply);
                throw;
            }
            _replies.OwnedRead(reply, structured, request.Handle, request.Offset, length);
            return true;
        }
        var data = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            await _export.ReadAsync((long)request.Offset, data.AsMemory(0, length), _ct).ConfigureAwait(false);
            if (structured) _replies.StructuredData(request.Handle, request.Offset, data.AsSpan(0, length));
            else _replies.SimpleWithData(request.Handle, data.AsSpan(0, length));
            return false;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(data);
        }
    }

    private void ReplyError(in NbdRequest request, NbdError error)
    {
        // proto.md: with structured replies a READ is always answered with chunks, even on error.
        if (_negotiated.StructuredReplies && request.Command is NbdCommand.Read or NbdCommand.BlockStatus)
            _replies.StructuredError(request.Handle, error);
        else
            _replies.Simple(request.Handle, error);
    }

    private NbdError ErrorFor(Exception e, in NbdRequest request)
    {
        switch (e)
        {
            case NbdIoException io when io.Error != NbdError.None:
                return io.Error;
            case OperationCanceledException when _ct.IsCancellationRequested:
                return NbdError.ESHUTDOWN;
            default:
                _logger.LogWarning(e, "NBD {Command} at {Offset}+{Length} on {Export} failed",
                    request.Command, request.Offset, request.Length, _negotiated.LogName);
                return NbdError.EIO;
        }
    }

    private static bool Fua(in NbdRequest request) => (request.Flags & CommandFlags.Fua) != 0;

    /// <summary>Fills <paramref name="destination"/> from the transport; false when the client left first.</summary>
    private async ValueTask<bool> ReceiveDirectAsync(Memory<byte> destination)
    {
        while (!destination.IsEmpty)
        {
            var n = await _transport.ReceiveDirectAsync(destination, _ct).ConfigureAwait(false);
            if (n <= 0) return false;
            destination = destination[n..];
        }
        return true;
    }

    /// <summary>Discards <paramref name="count"/> bytes of a rejected write's payload; false when the client left first.</summary>
    private async ValueTask<bool> SkipAsync(long count)
    {
        var input = _transport.Input;
        while (count > 0)
        {
            var result = await input.ReadAsync(_ct).ConfigureAwait(false);
            var buffer = result.Buffer;
            var take = Math.Min(count, buffer.Length);
            input.AdvanceTo(buffer.GetPosition(take));
            count -= take;
            if (count > 0 && (result.IsCompleted || result.IsCanceled)) return false;
        }
        return true;
    }
}
