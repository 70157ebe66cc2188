using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace ZeroDisk.Tlog;

/// <summary>
/// A tlog server: accepts connections, logs Append records per vdisk and acknowledges them after fsync. Group
/// commit: every Append frame that one read from the socket delivered is written, then each touched log is
/// fsynced once, then all of them are acknowledged in order (README.md).
/// With a <see cref="TlogSecret"/>, a connection must authenticate before its first request (challenge/response);
/// with <see cref="ITlogOwnerEpochs"/>, every append, highest-sequence query and log read must present the vdisk's
/// current owner epoch: a client without the secret, or whose claim is not the current one, touches nothing.
/// </summary>
public sealed class TlogServer(string dataDirectory, ILogger logger, TlogSecret? secret = null, ITlogOwnerEpochs? epochs = null) : IAsyncDisposable
{
    /// <summary>How long a new connection has to authenticate.</summary>
    public static readonly TimeSpan AuthenticationTimeout = TimeSpan.FromSeconds(10);

    private readonly ConcurrentDictionary<string, Lazy<VdiskLog>> _logs = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private Socket? _listener;

    public IPEndPoint? LocalEndPoint => _listener?.LocalEndPoint as IPEndPoint;

    public void Start(IPEndPoint endpoint)
    {
        Directory.CreateDirectory(dataDirectory);
        _listener = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        _listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        _listener.Bind(endpoint);
        _listener.Listen(128);
        _ = AcceptLoopAsync(_listener);
    }

    private async Task AcceptLoopAsync(Socket listener)
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptAsync(_stopping.Token);
            }
            catch (Exception) when (_stopping.IsCancellationRequested)
            {
                return;
            }
            socket.NoDelay = true;
            _ = ServeConnectionAsync(socket);
        }
    }

    private async Task ServeConnectionAsync(Socket socket)
    {
        var peer = socket.RemoteEndPoint?.ToString() ?? "?";
        await using var stream = new NetworkStream(socket, ownsSocket: true);
        var input = PipeReader.Create(stream, TlogFrames.ReaderOptions);
        var output = PipeWriter.Create(stream, TlogFrames.WriterOptions);
        var pendingAcks = new List<(long Sequence, string? Reject)>();
        var touched = new HashSet<VdiskLog>();
        try
        {
            if (!await AuthenticateAsync(input, output, peer)) return;
            while (true)
            {
                var result = await input.ReadAsync(_stopping.Token);
                var buffer = result.Buffer;
                while (TlogFrames.TryReadFrame(ref buffer, out var type, out var body))
                    await HandleFrameAsync(type, body, output, pendingAcks, touched);
                CommitBatch(output, pendingAcks, touched);
                input.AdvanceTo(buffer.Start, buffer.End);
                await output.FlushAsync(_stopping.Token);
                if (result.IsCompleted) return;
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            logger.LogDebug("tlog connection {Peer} closed: {Reason}", peer, ex.Message);
        }
        catch (TlogRefusedException ex)
        {
            // The reason names the client's vdisk and epoch: it goes back to the client, the log says only who and what kind.
            logger.LogInformation("tlog connection {Peer} refused: {Kind}", peer, ex.Kind);
            CommitBatch(output, pendingAcks, touched);
            TlogFrames.WriteText(output, TlogFrameType.Error, ex.Message);
            await output.FlushAsync().AsTask().ContinueWith(_ => { }, TaskScheduler.Default);
        }
        catch (InvalidDataException ex)
        {
            logger.LogWarning("tlog connection {Peer} sent a bad frame, closing it: {Reason}", peer, ex.Message);
            TlogFrames.WriteText(output, TlogFrameType.Error, ex.Message);
            await output.FlushAsync().AsTask().ContinueWith(_ => { }, TaskScheduler.Default);
        }
        finally
        {
            await TlogFrames.CompleteQuietlyAsync(input, output);
        }
    }

    /// <summary>
    /// The Challenge every connection starts with, and, when a secret is set, the client's proof and ours. False when
    /// the client failed (it has been told, and the connection closes).
    /// </summary>
    private async Task<bool> AuthenticateAsync(PipeReader input, PipeWriter output, string peer)
    {
        var nonce = secret is null ? new byte[TlogSecret.NonceLength] : TlogSecret.NewNonce();
        TlogAuthFrames.WriteChallenge(output, required: secret is not null, nonce);
        await output.FlushAsync(_stopping.Token);
        if (secret is null) return true;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        deadline.CancelAfter(AuthenticationTimeout);
        while (true)
        {
            ReadResult result;
            try { result = await input.ReadAsync(deadline.Token); }
            catch (OperationCanceledException) when (!_stopping.IsCancellationRequested)
            {
                logger.LogInformation("tlog connection {Peer} did not authenticate within {Timeout}; closing", peer, AuthenticationTimeout);
                return false;
            }
            var buffer = result.Buffer;
            if (TlogFrames.TryReadFrame(ref buffer, out var type, out var body))
            {
                var proof = body.ToArray();
                input.AdvanceTo(buffer.Start);
                if (type == TlogFrameType.Authenticate && proof.Length == 2 * TlogSecret.NonceLength
                    && TlogSecret.Same(secret.ClientProof(nonce, proof.AsSpan(0, TlogSecret.NonceLength)), proof.AsSpan(TlogSecret.NonceLength)))
                {
                    TlogAuthFrames.WriteBytes(output, TlogFrameType.Authenticated, secret.ServerProof(nonce, proof.AsSpan(0, TlogSecret.NonceLength)));
                    await output.FlushAsync(_stopping.Token);
                    return true;
                }
                logger.LogWarning("tlog connection {Peer} failed to authenticate (frame {Type}); closing", peer, (byte)type);
                TlogFrames.WriteText(output, TlogFrameType.Error, type == TlogFrameType.Authenticate ? "authentication failed" : "authentication required");
                await output.FlushAsync().AsTask().ContinueWith(_ => { }, TaskScheduler.Default);
                return false;
            }
            if (result.IsCompleted) return false;
            input.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    /// <summary>Null when <paramref name="epoch"/> is the vdisk's current owner epoch (or epochs are not checked), else why not.</summary>
    private ValueTask<string?> RefuseAsync(string vdiskId, long epoch) =>
        epochs is null ? ValueTask.FromResult<string?>(null) : epochs.RefuseAsync(vdiskId, epoch, _stopping.Token);

    private async ValueTask HandleFrameAsync(TlogFrameType type, ReadOnlySequence<byte> body, PipeWriter output,
        List<(long, string?)> pendingAcks, HashSet<VdiskLog> touched)
    {
        switch (type)
        {
            case TlogFrameType.Append:
                var record = TlogFrames.ReadRecord(body);
                if (!VdiskLog.IsValidVdiskId(record.VdiskId))
                {
                    pendingAcks.Add((record.Sequence, $"invalid vdisk id '{record.VdiskId}'"));
                    return;
                }
                if (await RefuseAsync(record.VdiskId, record.Epoch) is { } refused)
                {
                    pendingAcks.Add((record.Sequence, refused));
                    return;
                }
                if (!record.HashMatchesData())
                {
                    pendingAcks.Add((record.Sequence, "hash does not match the data"));
                    return;
                }
                var log = LogOf(record.VdiskId);
                var outcome = log.Append(record.Key, record.Hash, body);
                if (outcome == AppendOutcome.Appended) touched.Add(log);
                // A duplicate is acknowledged only after this batch's fsync too: its first copy may be in flight
                // on another connection, and fsync of the same file covers it.
                else if (outcome == AppendOutcome.Duplicate) touched.Add(log);
                pendingAcks.Add((record.Sequence, outcome == AppendOutcome.Conflict
                    ? $"conflict: {record.VdiskId} {record.Key} is already logged with a different hash"
                    : null));
                return;
            case TlogFrameType.QueryHighest:
                var (vdisk, epoch) = TlogFrames.ReadQueryHighest(body);
                if (VdiskLog.IsValidVdiskId(vdisk) && await RefuseAsync(vdisk, epoch) is { } stale) throw new TlogRefusedException("owner epoch", stale);
                var highest = VdiskLog.IsValidVdiskId(vdisk) ? LogOf(vdisk).HighestSequence(epoch) : 0;
                CommitBatch(output, pendingAcks, touched);
                TlogFrames.WriteSequence(output, TlogFrameType.Highest, highest);
                return;
            case TlogFrameType.ReadLog:
                var (vdiskId, readEpoch) = TlogFrames.ReadQueryHighest(body); // the same body: vdisk, epoch
                if (VdiskLog.IsValidVdiskId(vdiskId) && await RefuseAsync(vdiskId, readEpoch) is { } notOwner) throw new TlogRefusedException("owner epoch", notOwner);
                CommitBatch(output, pendingAcks, touched);
                if (VdiskLog.IsValidVdiskId(vdiskId) && File.Exists(Path.Combine(dataDirectory, VdiskLog.FileName(vdiskId))))
                    foreach (var r in LogOf(vdiskId).ReadDurable())
                        TlogFrames.WriteAppend(output, r, TlogFrameType.Record);
                TlogFrames.WriteEmpty(output, TlogFrameType.End);
                return;
            default:
                throw new InvalidDataException($"unexpected tlog frame type {(byte)type}");
        }
    }

    /// <summary>
    /// One fsync per touched log, then the batch's acknowledgements in arrival order. Called at the end of every
    /// read batch, and before a query's answer so replies keep request order.
    /// </summary>
    private static void CommitBatch(PipeWriter output, List<(long Sequence, string? Reject)> pendingAcks, HashSet<VdiskLog> touched)
    {
        foreach (var log in touched) log.Sync();
        touched.Clear();
        foreach (var (sequence, reject) in pendingAcks)
        {
            if (reject is null) TlogFrames.WriteSequence(output, TlogFrameType.Ack, sequence);
            else TlogFrames.WriteReject(output, sequence, reject);
        }
        pendingAcks.Clear();
    }

    private VdiskLog LogOf(string vdiskId) =>
        _logs.GetOrAdd(vdiskId, id => new Lazy<VdiskLog>(() => VdiskLog.Open(dataDirectory, id))).Value;

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener?.Dispose();
        foreach (var log in _logs.Values)
            if (log.IsValueCreated) log.Value.Dispose();
        _stopping.Dispose();
    }
}

/// <summary>A request the server will not serve (its epoch is not the owner's); the client gets the reason and the connection closes.</summary>
internal sealed class TlogRefusedException(string kind, string reason) : Exception(reason)
{
    public string Kind { get; } = kind;
}
