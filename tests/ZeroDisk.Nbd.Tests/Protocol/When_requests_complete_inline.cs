using System.Buffers;
using System.Diagnostics.Metrics;
using System.IO.Pipelines;
using ZeroDisk.Nbd.Memory;
using ZeroDisk.Nbd.Transport;
using static ZeroDisk.Nbd.Tests.Support.ClientMessages;

namespace ZeroDisk.Nbd.Tests.Protocol;

/// <summary>
/// The hot path allocates nothing per request. Over in-memory pipes and an export that answers synchronously the
/// whole session runs on the calling thread, so the thread's allocation counter sees every byte the server
/// allocates; sessions of different lengths must cost the same — also while the request metrics are listened to,
/// as they are in production.
/// </summary>
public sealed class When_requests_complete_inline
{
    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public async Task The_server_allocates_nothing_per_request(bool structured, bool metricsListened)
    {
        using var listener = metricsListened ? ListenToMetrics() : null;
        var catalog = new MemoryExportCatalog();
        catalog.Add("vd", 64L << 20);
        var shortSession = Session(structured, 200);
        var longSession = Session(structured, 4200);

        await RunAsync(catalog, longSession); // warm up: JIT, pools, pages
        // The least of three runs each: a one-off allocation on this thread (a pool growing, the runtime's own
        // bookkeeping) lands in one run at most, while a cost per request shows in every run.
        long shortCost = long.MaxValue, longCost = long.MaxValue;
        for (var run = 0; run < 3; run++)
        {
            shortCost = Math.Min(shortCost, await MeasureAsync(catalog, shortSession));
            longCost = Math.Min(longCost, await MeasureAsync(catalog, longSession));
        }

        var perRequest = (double)(longCost - shortCost) / 4000;
        Assert.True(perRequest < 1.0, $"{perRequest:F1} bytes allocated per request (short session {shortCost} B, long {longCost} B)");
        if (metricsListened) Assert.True(Interlocked.Read(ref s_measured) > 8400, "the requests were measured");
    }

    /// <summary>Listens to every instrument of the NBD meter, as the services' OpenTelemetry does.</summary>
    private static MeterListener ListenToMetrics()
    {
        var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == "ZeroDisk.Nbd") l.EnableMeasurementEvents(instrument);
            },
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref s_measured, value));
        listener.SetMeasurementEventCallback<double>((_, _, _, _) => Interlocked.Increment(ref s_measured));
        listener.Start();
        return listener;
    }

    private static long s_measured;

    private static byte[] Session(bool structured, int requests)
    {
        var parts = new List<byte[]> { ClientFlags() };
        if (structured) parts.Add(Option(OptStructuredReply, []));
        parts.Add(Option(OptGo, InfoRequest("vd")));
        var payload = new byte[4096];
        for (var i = 0; i < requests; i++)
        {
            var offset = (ulong)(i * 4096 % (32 << 20));
            parts.Add((i % 3) switch
            {
                0 => Request(CmdWrite, (ulong)i, offset, 4096, payload: payload),
                1 => Request(CmdRead, (ulong)i, offset, 4096),
                _ => Request(CmdFlush, (ulong)i, 0, 0),
            });
        }
        parts.Add(Request(CmdDisc, 0, 0, 0));
        return parts.SelectMany(p => p).ToArray();
    }

    private static async Task<long> MeasureAsync(MemoryExportCatalog catalog, byte[] session)
    {
        var before = GC.GetAllocatedBytesForCurrentThread();
        var run = RunAsync(catalog, session);
        var after = GC.GetAllocatedBytesForCurrentThread();
        Assert.True(run.IsCompletedSuccessfully, "the in-memory session was expected to run synchronously");
        await run;
        return after - before;
    }

    private static Task RunAsync(MemoryExportCatalog catalog, byte[] session)
    {
        var transport = new PipeTransport(PipeReader.Create(new ReadOnlySequence<byte>(session)), new DiscardingPipeWriter());
        var options = new NbdServerOptions();
        return NbdConnection.RunAsync(transport, catalog, options, ZeroDisk.Nbd.Security.NbdSecurity.None, new ByteBudget(options.MaxBufferedBytes), new RecordingLogger<NbdServer>(), CancellationToken.None);
    }
}
