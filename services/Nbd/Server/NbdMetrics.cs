using System.Diagnostics;
using System.Diagnostics.Metrics;
using ZeroDisk.Nbd.Protocol;

namespace ZeroDisk.Nbd.Server;

/// <summary>
/// What a VM sees of its disk, per export: requests answered (by command and outcome), bytes moved, how long each
/// request took from its arrival to its reply, and the open connections. The export name is a tag: only names that
/// exist reach the transmission phase, so a client cannot make up series. Recording allocates nothing.
/// </summary>
internal static class NbdMetrics
{
    /// <summary>The service's telemetry listens to every "ZeroDisk.*" meter.</summary>
    public const string MeterName = "ZeroDisk.Nbd";

    /// <summary>Block I/O latency buckets, 100 µs to 5 s (the exporter's defaults are milliseconds-sized).</summary>
    private static readonly InstrumentAdvice<double> LatencyBuckets = new()
    {
        HistogramBucketBoundaries = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    };

    private static readonly Meter s_meter = new(MeterName);
    private static readonly Counter<long> s_requests = s_meter.CreateCounter<long>("zerodisk.nbd.requests", "{request}", "NBD requests answered, by export, command and outcome (ok or error)");
    private static readonly Counter<long> s_bytes = s_meter.CreateCounter<long>("zerodisk.nbd.bytes", "By", "Bytes read or written through NBD, by export and command");
    private static readonly Histogram<double> s_duration = s_meter.CreateHistogram("zerodisk.nbd.request.duration", "s",
        "Time from an NBD request's arrival to its reply, by export and command", advice: LatencyBuckets);
    private static readonly UpDownCounter<long> s_connections = s_meter.CreateUpDownCounter<long>("zerodisk.nbd.connections", "{connection}", "Open NBD connections in the transmission phase, by export");

    internal static void ConnectionOpened(string export) => s_connections.Add(1, new KeyValuePair<string, object?>("export", export));

    internal static void ConnectionClosed(string export) => s_connections.Add(-1, new KeyValuePair<string, object?>("export", export));

    /// <summary>One request answered; <paramref name="started"/> is its <see cref="Stopwatch.GetTimestamp"/> on arrival.</summary>
    internal static void Answered(string export, NbdCommand command, uint length, bool ok, long started)
    {
        if (!s_requests.Enabled && !s_duration.Enabled) return;
        var name = CommandName(command);
        var tags = new TagList { { "export", export }, { "command", name } };
        s_duration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, tags);
        if (ok && command is NbdCommand.Read or NbdCommand.Write) s_bytes.Add(length, tags);
        tags.Add("outcome", ok ? "ok" : "error");
        s_requests.Add(1, tags);
    }

    private static string CommandName(NbdCommand command) => command switch
    {
        NbdCommand.Read => "read",
        NbdCommand.Write => "write",
        NbdCommand.Flush => "flush",
        NbdCommand.Trim => "trim",
        NbdCommand.WriteZeroes => "write_zeroes",
        NbdCommand.BlockStatus => "block_status",
        _ => "other",
    };
}
