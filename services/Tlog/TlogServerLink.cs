using System.Net.Sockets;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace ZeroDisk.Tlog;

/// <summary>
/// A <see cref="TlogWriter"/>'s connection to one tlog server. It sends the writer's records in sequence order from
/// a cursor and reports the server's acknowledgements. When the connection breaks it reconnects; on every
/// (re)connect it asks the server for the highest sequence it holds and resumes right above it, which catches a
/// restarted server up from the records the writer still keeps.
/// </summary>
internal sealed class TlogServerLink(TlogWriter writer, int index, string address, ILogger logger)
{
    private const int SendBatch = 256;
    private readonly Channel<byte> _wake = Channel.CreateBounded<byte>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private volatile bool _live;

    public bool IsLive => _live;
    public Task Completion { get; private set; } = Task.CompletedTask;

    public void Start(TlogConnection? connected, long highest) => Completion = RunAsync(connected, highest);

    public void Wake() => _wake.Writer.TryWrite(0);

    private async Task RunAsync(TlogConnection? connection, long highest)
    {
        var options = writer.Options;
        var ct = writer.Stopping;
        var wasLive = connection is not null;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                if (connection is null)
                {
                    connection = await TlogConnection.ConnectAsync(address, options.ConnectTimeout, ct, options.Secret);
                    highest = await connection.QueryHighestAsync(options.VdiskId, options.Epoch, ct).WaitAsync(options.ConnectTimeout, ct);
                    logger.LogInformation("tlog server {Server} is back for {Vdisk}: it holds up to sequence {Highest}, catching it up", address, options.VdiskId, highest);
                }
                var cursor = writer.Attach(index, highest);
                _live = wasLive = true;
                using var session = CancellationTokenSource.CreateLinkedTokenSource(ct);
                var receiving = ReceiveAsync(connection, session.Token);
                var sending = SendAsync(connection, cursor, session.Token);
                var first = await Task.WhenAny(receiving, sending);
                await session.CancelAsync();
                await Task.WhenAll(receiving, sending).ContinueWith(_ => { }, TaskScheduler.Default);
                await first; // surfaces why the session ended
            }
            catch (Exception) when (ct.IsCancellationRequested)
            {
                break;
            }
            catch (TlogConflictException ex)
            {
                // Another record already holds one of our keys: a second writer with our epoch. Never count this
                // server again for this writer (its acknowledgements would not be of our data).
                logger.LogCritical("tlog server {Server} refused a record of {Vdisk}: {Reason}; no longer used by this writer", address, options.VdiskId, ex.Message);
                _live = false;
                break;
            }
            catch (Exception ex) when (ex is IOException or SocketException or TimeoutException or InvalidDataException or OperationCanceledException or ObjectDisposedException)
            {
                if (wasLive)
                    logger.LogWarning("tlog server {Server} lost for {Vdisk} ({Reason}); continuing on the others, reconnecting", address, options.VdiskId, ex.Message);
                wasLive = false;
            }
            finally
            {
                _live = false;
                if (connection is not null) await connection.DisposeAsync();
                connection = null;
            }
            await Task.Delay(options.ReconnectDelay, ct).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private async Task SendAsync(TlogConnection connection, long cursor, CancellationToken ct)
    {
        while (true)
        {
            cursor = Math.Max(cursor, writer.FirstRetained);
            var sent = writer.CopyForSending(cursor, SendBatch, connection.Output);
            if (sent == 0)
            {
                await _wake.Reader.ReadAsync(ct);
                continue;
            }
            cursor += sent;
            var flushed = await connection.Output.FlushAsync(ct);
            if (flushed.IsCompleted) throw new IOException($"tlog server {address} stopped reading");
        }
    }

    private async Task ReceiveAsync(TlogConnection connection, CancellationToken ct)
    {
        while (true)
        {
            var result = await connection.Input.ReadAsync(ct);
            var buffer = result.Buffer;
            while (TlogFrames.TryReadFrame(ref buffer, out var type, out var body))
            {
                switch (type)
                {
                    case TlogFrameType.Ack:
                        writer.OnAck(index, TlogFrames.ReadSequence(body));
                        break;
                    case TlogFrameType.Reject:
                        var (sequence, reason) = TlogFrames.ReadReject(body);
                        throw new TlogConflictException($"sequence {sequence}: {reason}");
                    case TlogFrameType.Error:
                        throw new IOException($"tlog server {address}: {TlogFrames.ReadText(body)}");
                    default:
                        throw new InvalidDataException($"tlog server {address} sent frame {type} to a writer");
                }
            }
            connection.Input.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted) throw new IOException($"tlog server {address} closed the connection");
        }
    }
}

/// <summary>A tlog server refused a record: its key is logged with different content.</summary>
public sealed class TlogConflictException(string message) : Exception(message);
