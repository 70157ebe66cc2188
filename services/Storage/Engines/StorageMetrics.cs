using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace ZeroDisk.Storage;

/// <summary>
/// Per storage engine, as this server sees it: how long block reads and writes take on the engine (from the moment
/// the command leaves this process's queue for it to its answer) and how often this server marks it failed. A slow
/// engine shows here before it times out. Recording allocates nothing.
/// </summary>
internal static class StorageMetrics
{
    /// <summary>The service's telemetry listens to every "ZeroDisk.*" meter.</summary>
    public const string MeterName = "ZeroDisk.Storage";

    /// <summary>50 µs (a command on loopback) up to the command timeout's range (the exporter's defaults are milliseconds-sized).</summary>
    private static readonly InstrumentAdvice<double> EngineBuckets = new()
    {
        HistogramBucketBoundaries = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2],
    };

    private static readonly Meter s_meter = new(MeterName);
    private static readonly Histogram<double> s_duration = s_meter.CreateHistogram("zerodisk.engine.command.duration", "s",
        "Time a block read or write took on a storage engine, by engine and operation", advice: EngineBuckets);
    private static readonly Counter<long> s_failures = s_meter.CreateCounter<long>("zerodisk.engine.failures", "{failure}", "Times this server marked a storage engine failed, by engine");

    /// <summary>A block command answered; <paramref name="started"/> is its <see cref="Stopwatch.GetTimestamp"/> when sent.</summary>
    public static void Answered(StorageEngine engine, string operation, long started)
    {
        if (!s_duration.Enabled) return;
        s_duration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds,
            new KeyValuePair<string, object?>("engine", engine.Address), new KeyValuePair<string, object?>("operation", operation));
    }

    public static void Failed(StorageEngine engine) => s_failures.Add(1, new KeyValuePair<string, object?>("engine", engine.Address));
}
