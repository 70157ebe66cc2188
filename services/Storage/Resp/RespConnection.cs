using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using StackExchange.Redis;

namespace ZeroDisk.Storage.Resp;

/// <summary>
/// The data path's client of one engine: one socket, commands pipelined on it, their replies matched in order.
/// Replies complete their callers inline on the thread that read them (no thread hop per call: on this 2-core guest a
/// context switch costs more than the command), and every command queued while a send is out goes with the next
/// send. StackExchange.Redis stays for the control-plane calls (identity, run_id, repair bookkeeping).
/// <para>
/// Failure semantics are those the storage code relies on (DESIGN §3): a command never waits across a reconnect —
/// a broken connection fails every command on it and raises <see cref="Failed"/>; a command unanswered for
/// <see cref="RespConnectionOptions.CommandTimeout"/> fails the whole connection (a hung engine is noticed within the
/// timeout); the next command connects again (AUTH, SELECT) and fails at once if the engine refuses. Errors are
/// StackExchange.Redis's exception types (<see cref="RedisConnectionException"/>, <see cref="RedisTimeoutException"/>,
/// <see cref="RedisServerException"/> for an error reply) so callers classify both clients' failures alike.
/// </para>
/// </summary>
public sealed class RespConnection : IAsyncDisposable
{
    private readonly RespConnectionOptions _options;
    private readonly Lock _gate = new();
    private readonly Timer _timeouts;
    private Link? _link;
    private Task<Link>? _connecting;
    private bool _disposed;

    public RespConnection(RespConnectionOptions options)
    {
        _options = options;
        _timeouts = new Timer(static state => ((RespConnection)state!).CheckTimeouts(), this, options.TimeoutCheckInterval, options.TimeoutCheckInterval);
    }

    public EndPoint EndPoint => _options.EndPoint;

    /// <summary>True while a connection is up and has not failed.</summary>
    public bool IsConnected => Volatile.Read(ref _link) is { IsAlive: true };

    /// <summary>Raised once per connection that breaks or times out after it was up (not for a failed connect: the command that tried gets the error).</summary>
    public event Action<Exception>? Failed;

    /// <summary>Runs one command; an error reply throws <see cref="RedisServerException"/>.</summary>
    public Task<RespReply> ExecuteAsync(params RespArg[] command)
    {
        var pending = new ReplyPending();
        Send(command, pending);
        return pending.Task;
    }

    /// <summary>
    /// A bulk-string reply (e.g. HGET) copied straight into <paramref name="into"/>: its full length, or -1 for nil.
    /// Bytes beyond <paramref name="into"/>'s length are dropped, and past the reply's end (or for nil) <paramref name="into"/>
    /// is zeroed; it must stay valid until the task completes.
    /// </summary>
    public Task<int> ReadBulkIntoAsync(Memory<byte> into, params ReadOnlySpan<RespArg> command)
    {
        var pending = new BulkIntoPending(into);
        Send(command, pending);
        return pending.Task;
    }

    /// <summary>
    /// An array-of-bulk-strings reply (e.g. HMGET) copied straight into <paramref name="into"/>, one buffer per item in
    /// order; past an item's end (and for a nil item) its buffer is zeroed. The buffers must stay valid until the task completes.
    /// </summary>
    public Task ReadBulksIntoAsync(Memory<byte>[] into, params RespArg[] command)
    {
        var pending = new BulksIntoPending(into);
        Send(command, pending);
        return pending.Task;
    }

    /// <summary>EVALSHA of <paramref name="script"/>; EVAL with its text when the engine does not know it (a new or restarted engine).</summary>
    public async Task<RespReply> EvalAsync(RespScript script, IReadOnlyList<RespArg> keys, IReadOnlyList<RespArg> args)
    {
        var command = new RespArg[3 + keys.Count + args.Count];
        command[0] = "EVALSHA";
        command[1] = script.Sha1;
        command[2] = keys.Count;
        for (var i = 0; i < keys.Count; i++) command[3 + i] = keys[i];
        for (var i = 0; i < args.Count; i++) command[3 + keys.Count + i] = args[i];
        try
        {
            var pending = new ReplyPending();
            Send(command, pending, script);
            return await pending.Task;
        }
        catch (RedisServerException ex) when (ex.Message.StartsWith("NOSCRIPT", StringComparison.Ordinal))
        {
            command[0] = "EVAL"; // SCRIPT FLUSH meanwhile
            command[1] = script.Text;
            return await ExecuteAsync(command);
        }
    }

    /// <summary>
    /// An optimistic transaction, alone on this connection (its caller must be its only user meanwhile): WATCHes
    /// <paramref name="watched"/> and reads them (GET), lets <paramref name="decide"/> judge what they hold, then sends the
    /// commands it returns between MULTI and EXEC on the same socket. Never on a later one: a WATCH lives on one socket,
    /// and a transaction sent after a reconnect would run unguarded. Returns EXEC's reply, <see cref="RespReply.Null"/>
    /// when a watched key changed after it was read (nothing was written; read again). When <paramref name="decide"/>
    /// refuses (throws), the keys are unwatched and its exception is thrown.
    /// </summary>
    public async Task<RespReply> WatchedTransactionAsync(RespArg[] watched, Func<RespReply[], RespArg[][]> decide)
    {
        var link = await ConnectedAsync();
        var watch = new RespArg[1 + watched.Length];
        watch[0] = "WATCH";
        watched.CopyTo(watch, 1);
        var reads = new Task<RespReply>[1 + watched.Length];
        reads[0] = Enqueue(link, watch);
        for (var i = 0; i < watched.Length; i++) reads[1 + i] = Enqueue(link, ["GET", watched[i]]);
        var values = (await Task.WhenAll(reads))[1..];
        RespArg[][] writes;
        try
        {
            writes = decide(values);
        }
        catch
        {
            // Its reply does not matter: a lost connection drops the WATCH with it.
            _ = Enqueue(link, ["UNWATCH"]).ContinueWith(static t => _ = t.Exception, TaskScheduler.Default);
            throw;
        }
        // A command refused while queueing (an error reply) makes EXEC refuse the whole transaction (EXECABORT); its
        // error comes first here.
        var transaction = new Task<RespReply>[writes.Length + 2];
        transaction[0] = Enqueue(link, ["MULTI"]);
        for (var i = 0; i < writes.Length; i++) transaction[1 + i] = Enqueue(link, writes[i]);
        transaction[^1] = Enqueue(link, ["EXEC"]);
        return (await Task.WhenAll(transaction))[^1];
    }

    private static Task<RespReply> Enqueue(Link link, RespArg[] command)
    {
        var pending = new ReplyPending();
        link.Enqueue(command, pending);
        return pending.Task;
    }

    /// <summary>Queues <paramref name="command"/> (written out at once: a span, no array per call) on the live connection, or after connecting.</summary>
    private void Send(ReadOnlySpan<RespArg> command, Pending pending, RespScript? script = null)
    {
        if (Volatile.Read(ref _link) is { IsAlive: true } link) link.Enqueue(command, pending, script);
        else _ = SendWhenConnectedAsync(command.ToArray(), pending, script);
    }

    private async Task SendWhenConnectedAsync(RespArg[] command, Pending pending, RespScript? script)
    {
        Link link;
        try
        {
            link = await ConnectedAsync();
        }
        catch (Exception ex)
        {
            pending.Fail(ex);
            return;
        }
        link.Enqueue(command, pending, script);
    }

    /// <summary>The live connection, or one connect shared by every caller that needs it now.</summary>
    private Task<Link> ConnectedAsync()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_link is { IsAlive: true } link) return Task.FromResult(link);
            if (_connecting is { IsCompleted: false } connecting) return connecting;
            return _connecting = ConnectAsync();
        }
    }

    private async Task<Link> ConnectAsync()
    {
        using var deadline = new CancellationTokenSource(_options.ConnectTimeout);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        Link? link = null;
        try
        {
            await socket.ConnectAsync(_options.EndPoint, deadline.Token);
            Stream stream = new NetworkStream(socket, ownsSocket: true);
            if (_options.Tls is { } tls)
            {
                var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                await ssl.AuthenticateAsClientAsync(tls, deadline.Token);
                stream = ssl;
            }
            link = new Link(this, socket, stream);
            link.Start();
            var setup = new List<Task>(3);
            if (_options.Password is { } password)
            {
                var auth = new ReplyPending();
                link.Enqueue(_options.User is { } user ? ["AUTH", user, password] : ["AUTH", password], auth);
                setup.Add(auth.Task);
            }
            if (_options.Database != 0)
            {
                var select = new ReplyPending();
                link.Enqueue(["SELECT", _options.Database], select);
                setup.Add(select.Task);
            }
            if (_options.ClientName is { } name)
            {
                var setName = new ReplyPending();
                link.Enqueue(["CLIENT", "SETNAME", name], setName);
                setup.Add(setName.Task);
            }
            await Task.WhenAll(setup).WaitAsync(deadline.Token);
            lock (_gate)
            {
                if (_disposed) throw new ObjectDisposedException(nameof(RespConnection));
                link.Published = true;
                _link = link;
            }
            return link;
        }
        catch (Exception ex)
        {
            var error = ex is RedisServerException auth
                ? new RedisConnectionException(ConnectionFailureType.AuthenticationFailure, $"{_options.EndPoint}: {auth.Message}", ex)
                : new RedisConnectionException(ConnectionFailureType.UnableToConnect,
                    ex is OperationCanceledException ? $"{_options.EndPoint}: no connection within {_options.ConnectTimeout}" : $"{_options.EndPoint}: {ex.Message}", ex);
            if (link is not null) link.Fault(error);
            else socket.Dispose();
            throw error;
        }
    }

    private void CheckTimeouts()
    {
        if (Volatile.Read(ref _link) is { IsAlive: true } link) link.CheckTimeout(_options.CommandTimeout);
    }

    private void OnLinkFailed(Link link, Exception error)
    {
        if (!link.Published) return;
        lock (_gate)
        {
            if (_disposed) return;
        }
        Failed?.Invoke(error);
    }

    public ValueTask DisposeAsync()
    {
        Link? link;
        lock (_gate)
        {
            _disposed = true;
            link = _link;
        }
        _timeouts.Dispose();
        link?.Fault(new ObjectDisposedException(nameof(RespConnection)));
        return ValueTask.CompletedTask;
    }

    /// <summary>One connection: its socket, the commands sent and not answered yet (in order), the bytes not sent yet.</summary>
    private sealed class Link
    {
        private readonly RespConnection _owner;
        private readonly Socket _socket;
        private readonly Stream _stream;
        private readonly Action _sendQueued;
        private readonly Lock _gate = new();
        private readonly Queue<Pending> _pending = new();
        private ArrayBufferWriter<byte> _out = new(64 * 1024);
        private ArrayBufferWriter<byte> _spare = new(64 * 1024);
        private bool _sending;
        private volatile bool _alive = true;
        private byte[] _in = new byte[64 * 1024];
        private readonly HashSet<RespScript> _scripts = [];

        public Link(RespConnection owner, Socket socket, Stream stream)
        {
            _owner = owner;
            _socket = socket;
            _stream = stream;
            _sendQueued = () => _ = FlushAsync();
        }

        public bool IsAlive => _alive;

        /// <summary>Set once AUTH/SELECT succeeded and callers may use it: only then does its failure raise <see cref="Failed"/>.</summary>
        public bool Published { get; set; }

        public void Start() => _ = ReadLoopAsync();

        /// <param name="script">
        /// For an EVALSHA of it: the first one on this connection goes as EVAL with the text (an engine that restarted has
        /// lost its scripts, and every connect is a possible restart), the later ones as EVALSHA.
        /// </param>
        public void Enqueue(ReadOnlySpan<RespArg> command, Pending pending, RespScript? script = null)
        {
            var flush = false;
            lock (_gate)
            {
                if (!_alive)
                {
                    flush = true; // reused below as "failed": never queue a command across a reconnect
                }
                else
                {
                    RespArg.WriteHeader(_out, '*', command.Length);
                    if (script is not null && _scripts.Add(script))
                    {
                        // EVAL and the text in place of EVALSHA and the SHA1.
                        ((RespArg)"EVAL").WriteTo(_out);
                        ((RespArg)script.Text).WriteTo(_out);
                        command = command[2..];
                    }
                    foreach (var arg in command) arg.WriteTo(_out);
                    pending.Queued = Stopwatch.GetTimestamp();
                    _pending.Enqueue(pending);
                    if (!_sending) _sending = true;
                    else return;
                }
            }
            if (flush)
            {
                pending.Fail(new RedisConnectionException(ConnectionFailureType.SocketClosed, $"{_owner.EndPoint}: connection lost"));
                return;
            }
            // In a burst (SendBatch), the send waits for the burst's other commands; _sending keeps later ones from starting another.
            if (!SendBatch.TryJoin(_sendQueued)) _ = FlushAsync();
        }

        /// <summary>Sends what is queued, then whatever was queued meanwhile, until nothing is: one send per burst.</summary>
        private async Task FlushAsync()
        {
            while (true)
            {
                ArrayBufferWriter<byte> send;
                lock (_gate)
                {
                    if (_out.WrittenCount == 0 || !_alive)
                    {
                        _sending = false;
                        return;
                    }
                    send = _out;
                    _out = _spare;
                    _spare = send;
                }
                try
                {
                    await _stream.WriteAsync(send.WrittenMemory);
                }
                catch (Exception ex)
                {
                    Fault(new RedisConnectionException(ConnectionFailureType.SocketFailure, $"{_owner.EndPoint}: send failed: {ex.Message}", ex));
                    lock (_gate) _sending = false;
                    return;
                }
                send.ResetWrittenCount();
            }
        }

        private async Task ReadLoopAsync()
        {
            int head = 0, tail = 0;
            try
            {
                while (true)
                {
                    if (_in.Length - tail < 16 * 1024)
                    {
                        if (head > 0)
                        {
                            _in.AsSpan(head, tail - head).CopyTo(_in);
                            tail -= head;
                            head = 0;
                        }
                        if (_in.Length - tail < 16 * 1024) Array.Resize(ref _in, _in.Length * 2);
                    }
                    var n = await _stream.ReadAsync(_in.AsMemory(tail));
                    if (n == 0) throw new RedisConnectionException(ConnectionFailureType.SocketClosed, $"{_owner.EndPoint}: connection closed by the engine");
                    tail += n;
                    // The replies of one receive are completed in one send batch: what their callers send in turn (NBD
                    // replies, the next engine commands) leaves together when the last one is done.
                    SendBatch.Open();
                    try
                    {
                        while (tail > head)
                        {
                            var length = RespReply.FrameLength(_in.AsSpan(head, tail - head));
                            if (length < 0) break;
                            Pending pending;
                            lock (_gate)
                            {
                                if (!_alive) return;
                                if (!_pending.TryDequeue(out pending!)) throw new InvalidDataException("a reply to no command");
                            }
                            // The caller's continuation runs here, inline: the reply is its own, nothing else reads _in meanwhile.
                            pending.Complete(_in.AsSpan(head, length));
                            head += length;
                        }
                    }
                    finally
                    {
                        SendBatch.Close();
                    }
                    if (head == tail) head = tail = 0;
                }
            }
            catch (Exception ex)
            {
                Fault(ex as RedisException ?? new RedisConnectionException(ConnectionFailureType.SocketFailure, $"{_owner.EndPoint}: {ex.Message}", ex));
            }
        }

        public void CheckTimeout(TimeSpan timeout)
        {
            long queued;
            int count;
            lock (_gate)
            {
                if (!_pending.TryPeek(out var oldest)) return;
                queued = oldest.Queued;
                count = _pending.Count;
            }
            var waited = Stopwatch.GetElapsedTime(queued);
            if (waited > timeout)
                Fault(new RedisTimeoutException($"{_owner.EndPoint}: no reply within {timeout.TotalMilliseconds:F0} ms ({waited.TotalMilliseconds:F0} ms, {count} commands waiting)", CommandStatus.Sent));
        }

        /// <summary>Closes the connection once; every command waiting on it fails with <paramref name="error"/>.</summary>
        public void Fault(Exception error)
        {
            Pending[] failed;
            lock (_gate)
            {
                if (!_alive) return;
                _alive = false;
                failed = _pending.ToArray();
                _pending.Clear();
            }
            try
            {
                _stream.Dispose();
                _socket.Dispose();
            }
            catch (Exception)
            {
                // Closing a broken connection: nothing more to learn.
            }
            _owner.OnLinkFailed(this, error);
            foreach (var pending in failed) pending.Fail(error);
        }
    }

    /// <summary>A command sent and waiting for its reply.</summary>
    private abstract class Pending
    {
        public long Queued;

        /// <summary>The reply, valid only during the call.</summary>
        public abstract void Complete(ReadOnlySpan<byte> frame);

        public abstract void Fail(Exception error);

        protected static RedisServerException ServerError(ReadOnlySpan<byte> frame) =>
            new(System.Text.Encoding.UTF8.GetString(frame[1..^2]));
    }

    private sealed class ReplyPending : Pending
    {
        private readonly TaskCompletionSource<RespReply> _done = new();

        public Task<RespReply> Task => _done.Task;

        public override void Complete(ReadOnlySpan<byte> frame)
        {
            if (frame[0] == (byte)'-') _done.TrySetException(ServerError(frame));
            else _done.TrySetResult(RespReply.Parse(frame));
        }

        public override void Fail(Exception error) => _done.TrySetException(error);
    }

    /// <summary>
    /// Copies the bulk string at the start of <paramref name="bulk"/> into <paramref name="into"/> (bytes beyond its
    /// length dropped, the rest of it zeroed, nil as all zeroes); returns the string's length (-1 for nil) and the
    /// bytes the bulk string takes in the reply.
    /// </summary>
    private static int CopyBulk(ReadOnlySpan<byte> bulk, Span<byte> into, out int bulkLength)
    {
        var line = bulk.IndexOf("\r\n"u8);
        var length = RespReply.ParseLength(bulk[1..line]);
        var copied = Math.Clamp(length, 0, into.Length);
        if (copied > 0) bulk.Slice(line + 2, copied).CopyTo(into);
        into[copied..].Clear();
        bulkLength = line + 2 + (length < 0 ? 0 : length + 2);
        return length;
    }

    private sealed class BulkIntoPending(Memory<byte> into) : Pending
    {
        private readonly TaskCompletionSource<int> _done = new();

        public Task<int> Task => _done.Task;

        public override void Complete(ReadOnlySpan<byte> frame)
        {
            switch (frame[0])
            {
                case (byte)'$':
                    _done.TrySetResult(CopyBulk(frame, into.Span, out _));
                    break;
                case (byte)'-':
                    _done.TrySetException(ServerError(frame));
                    break;
                default:
                    _done.TrySetException(new InvalidDataException($"not a bulk string reply: '{(char)frame[0]}'"));
                    break;
            }
        }

        public override void Fail(Exception error) => _done.TrySetException(error);
    }

    private sealed class BulksIntoPending(Memory<byte>[] into) : Pending
    {
        private readonly TaskCompletionSource _done = new();

        public Task Task => _done.Task;

        public override void Complete(ReadOnlySpan<byte> frame)
        {
            if (frame[0] == (byte)'-')
            {
                _done.TrySetException(ServerError(frame));
                return;
            }
            var line = frame.IndexOf("\r\n"u8);
            if (frame[0] != (byte)'*' || RespReply.ParseLength(frame[1..line]) != into.Length)
            {
                _done.TrySetException(new InvalidDataException($"not an array of {into.Length} bulk strings: '{(char)frame[0]}'"));
                return;
            }
            var pos = line + 2;
            foreach (var destination in into)
            {
                if (frame[pos] != (byte)'$')
                {
                    _done.TrySetException(new InvalidDataException($"not a bulk string item: '{(char)frame[pos]}'"));
                    return;
                }
                CopyBulk(frame[pos..], destination.Span, out var itemLength);
                pos += itemLength;
            }
            _done.TrySetResult();
        }

        public override void Fail(Exception error) => _done.TrySetException(error);
    }
}
