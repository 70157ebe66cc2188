using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.CompilerServices;

namespace ZeroDisk.Tlog;

/// <summary>A tlog server's answer to one Append: acknowledged, or rejected with a reason.</summary>
public readonly record struct TlogReply(long Sequence, string? RejectReason)
{
    public bool Acknowledged => RejectReason is null;
}

/// <summary>One client connection to a tlog server, with the request/answer exchanges of the protocol.</summary>
public sealed class TlogConnection : IAsyncDisposable
{
    private readonly NetworkStream _stream;

    private TlogConnection(string address, NetworkStream stream)
    {
        Address = address;
        _stream = stream;
        Input = PipeReader.Create(stream, TlogFrames.ReaderOptions);
        Output = PipeWriter.Create(stream, TlogFrames.WriterOptions);
    }

    public string Address { get; }
    public PipeReader Input { get; }
    public PipeWriter Output { get; }

    /// <summary>
    /// Connects and answers the server's challenge: with <paramref name="secret"/>, proves it holds the cluster's secret
    /// and checks that the server does too; without, works only with a server that asks for none. Throws
    /// <see cref="IOException"/> when the two sides do not authenticate each other.
    /// </summary>
    public static async Task<TlogConnection> ConnectAsync(string address, TimeSpan timeout, CancellationToken ct, TlogSecret? secret = null)
    {
        var (host, port) = ParseAddress(address);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        TlogConnection? connection = null;
        try
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
            deadline.CancelAfter(timeout);
            await socket.ConnectAsync(host, port, deadline.Token);
            connection = new TlogConnection(address, new NetworkStream(socket, ownsSocket: true));
            await connection.AuthenticateAsync(secret, deadline.Token);
            return connection;
        }
        catch
        {
            if (connection is not null) await connection.DisposeAsync();
            else socket.Dispose();
            throw;
        }
    }

    private async Task AuthenticateAsync(TlogSecret? secret, CancellationToken ct)
    {
        var (required, serverNonce) = await ReadFrameAsync(TlogFrameType.Challenge, TlogAuthFrames.ReadChallenge, ct);
        if (secret is null)
        {
            if (required) throw new IOException($"tlog server {Address} requires the cluster's secret ({TlogSecret.FileKey})");
            return;
        }
        if (!required) throw new IOException($"tlog server {Address} does not ask for the cluster's secret: it is not one of ours, not journaling to it");
        var clientNonce = TlogSecret.NewNonce();
        TlogAuthFrames.WriteBytes(Output, TlogFrameType.Authenticate, clientNonce, secret.ClientProof(serverNonce, clientNonce));
        await Output.FlushAsync(ct);
        var proof = await ReadFrameAsync(TlogFrameType.Authenticated, body => body.ToArray(), ct);
        if (!TlogSecret.Same(secret.ServerProof(serverNonce, clientNonce), proof))
            throw new IOException($"tlog server {Address} does not hold the cluster's secret");
    }

    public static (string Host, int Port) ParseAddress(string address)
    {
        var colon = address.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(address.AsSpan(colon + 1), out var port) || port is < 1 or > 65535)
            throw new FormatException($"tlog server address '{address}' is not host:port");
        return (address[..colon], port);
    }

    public async Task<long> QueryHighestAsync(string vdiskId, long epoch, CancellationToken ct)
    {
        TlogFrames.WriteQueryHighest(Output, vdiskId, epoch);
        await Output.FlushAsync(ct);
        return await ReadFrameAsync(TlogFrameType.Highest, TlogFrames.ReadSequence, ct);
    }

    /// <summary>Sends one record and waits for its answer (the writer pipelines instead; this is for tools and tests).</summary>
    public async Task<TlogReply> AppendAsync(TlogRecord record, CancellationToken ct)
    {
        TlogFrames.WriteAppend(Output, record);
        await Output.FlushAsync(ct);
        while (true)
        {
            var result = await Input.ReadAsync(ct);
            var buffer = result.Buffer;
            if (TlogFrames.TryReadFrame(ref buffer, out var type, out var body))
            {
                var reply = type switch
                {
                    TlogFrameType.Ack => new TlogReply(TlogFrames.ReadSequence(body), null),
                    TlogFrameType.Reject => ToReply(TlogFrames.ReadReject(body)),
                    _ => throw new InvalidDataException($"tlog server {Address} answered an append with frame {type}"),
                };
                Input.AdvanceTo(buffer.Start);
                return reply;
            }
            if (result.IsCompleted) throw new IOException($"tlog server {Address} closed the connection");
            Input.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private static TlogReply ToReply((long Sequence, string Reason) reject) => new(reject.Sequence, reject.Reason);

    /// <summary>Every durable record the server holds for the vdisk, in its log order (presenting no owner epoch).</summary>
    public IAsyncEnumerable<TlogRecord> ReadLogAsync(string vdiskId, CancellationToken ct) => ReadLogAsync(vdiskId, 0, ct);

    /// <summary>Every durable record the server holds for the vdisk, in its log order; <paramref name="epoch"/> is the reader's owner epoch.</summary>
    public async IAsyncEnumerable<TlogRecord> ReadLogAsync(string vdiskId, long epoch, [EnumeratorCancellation] CancellationToken ct)
    {
        TlogFrames.WriteQueryHighest(Output, vdiskId, epoch, TlogFrameType.ReadLog);
        await Output.FlushAsync(ct);
        var records = new List<TlogRecord>();
        while (true)
        {
            var result = await Input.ReadAsync(ct);
            var buffer = result.Buffer;
            var ended = false;
            while (!ended && TlogFrames.TryReadFrame(ref buffer, out var type, out var body))
            {
                switch (type)
                {
                    case TlogFrameType.Record: records.Add(TlogFrames.ReadRecord(body)); break;
                    case TlogFrameType.End: ended = true; break;
                    case TlogFrameType.Error: throw new IOException($"tlog server {Address}: {TlogFrames.ReadText(body)}");
                    default: throw new InvalidDataException($"tlog server {Address} sent frame {type} while listing a log");
                }
            }
            Input.AdvanceTo(buffer.Start, buffer.End);
            foreach (var record in records) yield return record;
            records.Clear();
            if (ended) yield break;
            if (result.IsCompleted) throw new IOException($"tlog server {Address} closed the connection mid-listing");
        }
    }

    private async Task<T> ReadFrameAsync<T>(TlogFrameType expected, Func<ReadOnlySequence<byte>, T> parse, CancellationToken ct)
    {
        while (true)
        {
            var result = await Input.ReadAsync(ct);
            var buffer = result.Buffer;
            if (TlogFrames.TryReadFrame(ref buffer, out var type, out var body))
            {
                if (type == TlogFrameType.Error) throw new IOException($"tlog server {Address}: {TlogFrames.ReadText(body)}");
                if (type != expected) throw new InvalidDataException($"tlog server {Address} answered {type}, expected {expected}");
                var value = parse(body);
                Input.AdvanceTo(buffer.Start);
                return value;
            }
            if (result.IsCompleted) throw new IOException($"tlog server {Address} closed the connection");
            Input.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await TlogFrames.CompleteQuietlyAsync(Input, Output);
        await _stream.DisposeAsync();
    }
}
