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
/// </summary>
public sealed class TlogServer(string dataDirectory, ILogger logger) : IAsyncDisposable
{
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
            while (true)
            {
                var result = await input.ReadAsync(_stopping.Token);
                var buffer = result.Buffer;
                while (TlogFrames.TryReadFrame(ref buffer, out var type, out var body))
                    HandleFrame(type, body, output, pendingAcks, touched);
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

    private void HandleFrame(TlogFrameType type, ReadOnlySequence<byte> body, PipeWriter output,
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
                var highest = VdiskLog.IsValidVdiskId(vdisk) ? LogOf(vdisk).HighestSequence(epoch) : 0;
                CommitBatch(output, pendingAcks, touched);
                TlogFrames.WriteSequence(output, TlogFrameType.Highest, highest);
                return;
            case TlogFrameType.ReadLog:
                var vdiskId = TlogFrames.ReadText(body);
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
