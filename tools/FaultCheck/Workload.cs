using System.Diagnostics;

namespace ZeroDisk.FaultCheck;

/// <summary>One vdisk of the workload: where it is served and how many blocks the writers use.</summary>
public sealed record WorkloadVdisk(int Index, string Id, int Port, int Blocks);

/// <summary>
/// The writers: each owns every <c>writers</c>-th block of its vdisk and runs one operation at a time on its own NBD
/// connection (so the history of a block is a sequence). The mix: full-block writes, sub-block writes, write-zeroes
/// (whole and partial), trims of whole blocks, flushes. A broken connection makes the operation's outcome unknown and
/// the writer reconnects; an NBD error fails it. The operation mix comes from the seed, so a rerun writes alike.
/// </summary>
public sealed class Workload(History history, Stopwatch clock, int blockSize, Action<string> log)
{
    private static readonly TimeSpan OpTimeout = TimeSpan.FromSeconds(60);
    private int _connectFailures;

    public int ConnectFailures => _connectFailures;

    public Task RunAsync(WorkloadVdisk vdisk, int writers, int seed, CancellationToken stop) =>
        Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(() => WriterAsync(vdisk, w, writers, new Random(seed * 1000 + vdisk.Index * 10 + w), null, stop))));

    /// <summary>A fixed number of operations per writer, all before the faults (the vdisk that is parked afterwards).</summary>
    public Task RunCountAsync(WorkloadVdisk vdisk, int writers, int seed, int ops, CancellationToken ct) =>
        Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(() => WriterAsync(vdisk, w, writers, new Random(seed * 1000 + vdisk.Index * 10 + w), ops, ct))));

    private async Task WriterAsync(WorkloadVdisk vdisk, int writer, int writers, Random random, int? count, CancellationToken stop)
    {
        var sectorsPerBlock = blockSize / SectorContent.SectorSize;
        var owned = Enumerable.Range(0, vdisk.Blocks).Where(b => b % writers == writer).ToArray();
        NbdConnection? connection = null;
        var done = 0;
        try
        {
            while (!stop.IsCancellationRequested && (count is null || done < count))
            {
                if (connection is null)
                {
                    try
                    {
                        using var connect = CancellationTokenSource.CreateLinkedTokenSource(stop);
                        connect.CancelAfter(TimeSpan.FromSeconds(10));
                        connection = await NbdConnection.ConnectAsync(vdisk.Port, vdisk.Id, connect.Token);
                    }
                    catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or OperationCanceledException)
                    {
                        Interlocked.Increment(ref _connectFailures);
                        await Delay(TimeSpan.FromMilliseconds(500), stop);
                        continue;
                    }
                }
                var block = owned[random.Next(owned.Length)];
                var roll = random.Next(100);
                var (kind, first, sectors) = roll switch
                {
                    < 55 => (OpKind.Write, 0, sectorsPerBlock),
                    < 70 => Partial(OpKind.SubWrite),
                    < 80 => random.Next(2) == 0 ? (OpKind.Zeroes, 0, sectorsPerBlock) : Partial(OpKind.Zeroes),
                    < 90 => (OpKind.Trim, 0, sectorsPerBlock),
                    _ => (OpKind.Flush, 0, 0),
                };
                (OpKind, int, int) Partial(OpKind k)
                {
                    var n = 1 + random.Next(sectorsPerBlock - 1);
                    return (k, random.Next(sectorsPerBlock - n + 1), n);
                }
                var op = history.Invoke(vdisk.Index, writer, kind, block, first, sectors, clock.Elapsed);
                var offset = (long)block * blockSize + first * SectorContent.SectorSize;
                var length = sectors * SectorContent.SectorSize;
                byte[]? payload = null;
                if (kind is OpKind.Write or OpKind.SubWrite)
                {
                    payload = new byte[length];
                    for (var s = 0; s < sectors; s++)
                        SectorContent.Fill(payload.AsSpan(s * SectorContent.SectorSize, SectorContent.SectorSize), vdisk.Index, block, first + s, op.Id);
                }
                var command = kind switch
                {
                    OpKind.Write or OpKind.SubWrite => NbdConnection.Write,
                    OpKind.Zeroes => NbdConnection.WriteZeroes,
                    OpKind.Trim => NbdConnection.Trim,
                    _ => NbdConnection.Flush,
                };
                try
                {
                    using var timeout = new CancellationTokenSource(OpTimeout);
                    var reply = await connection.RequestAsync(command, kind == OpKind.Flush ? 0 : offset, kind == OpKind.Flush ? 0 : length, payload, timeout.Token);
                    op.Completed = clock.Elapsed;
                    op.Error = reply.Error;
                    op.Outcome = reply.Error == 0 ? Outcome.Ok : Outcome.Error;
                }
                catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or OperationCanceledException or ObjectDisposedException)
                {
                    op.Completed = clock.Elapsed;
                    op.Outcome = Outcome.Unknown;
                    op.Detail = ex.GetType().Name;
                    await connection.DisposeAsync();
                    connection = null;
                }
                done++;
            }
        }
        finally
        {
            if (connection is not null)
            {
                try
                {
                    using var bye = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                    await connection.RequestAsync(NbdConnection.Disconnect, 0, 0, null, bye.Token).WaitAsync(TimeSpan.FromMilliseconds(200));
                }
                catch (Exception ex) when (ex is IOException or TimeoutException or OperationCanceledException or System.Net.Sockets.SocketException)
                {
                    /* NBD_CMD_DISC has no reply: the wait ends by timeout or by the server closing */
                }
                await connection.DisposeAsync();
            }
            log($"writer {writer} of vd{vdisk.Index}: {done} operation(s)");
        }
    }

    private static async Task Delay(TimeSpan delay, CancellationToken ct)
    {
        try { await Task.Delay(delay, ct); }
        catch (OperationCanceledException) { /* stopping */ }
    }
}
