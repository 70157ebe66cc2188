using System.Diagnostics.Metrics;
using ZeroDisk.LogCollector.Checkpoints;
using ZeroDisk.LogCollector.Hosting;
using ZeroDisk.LogCollector.Tailing;

namespace ZeroDisk.LogCollector.Telemetry;

/// <summary>
/// Collector lag, an alert signal, measured at each scrape from what is on disk: per stream, the bytes of its log file past
/// the checkpointed offset (what the broker has not confirmed yet), and the seconds since the file was last written
/// while such bytes wait. A file the checkpoint does not know yet counts whole. Reading the checkpoint is safe at any
/// moment: it is replaced by a rename.
/// </summary>
public sealed class CollectorLag
{
    public const string LagBytesName = "zerodisk.logcollector.lag_bytes";
    public const string LagSecondsName = "zerodisk.logcollector.lag_seconds";

    public CollectorLag(LogCollectorOptions options, CheckpointStore checkpoints)
    {
        var time = TimeProvider.System;
        CollectorTelemetry.Meter.CreateObservableGauge(LagBytesName, () => Measure(options, checkpoints, time).Select(s =>
            new Measurement<long>(s.Bytes, CollectorTelemetry.StreamTags(options.Node, s.Stream))), null, "log bytes not yet published and confirmed, per stream");
        CollectorTelemetry.Meter.CreateObservableGauge(LagSecondsName, () => Measure(options, checkpoints, time).Select(s =>
            new Measurement<double>(s.Seconds, CollectorTelemetry.StreamTags(options.Node, s.Stream))), null, "age of the oldest write not yet published (0 when caught up), per stream");
    }

    public static IReadOnlyList<(string Stream, long Bytes, double Seconds)> Measure(LogCollectorOptions options, CheckpointStore checkpoints, TimeProvider time)
    {
        var offsets = checkpoints.Load().ToDictionary(c => (c.Device, c.Inode), c => c.Offset);
        var lags = new List<(string, long, double)>();
        if (!Directory.Exists(options.Directory)) return lags;
        foreach (var path in Directory.EnumerateFiles(options.Directory))
        {
            var name = Path.GetFileName(path);
            if (name.StartsWith('.') || StreamNames.IsCompressed(name) || FileIdentity.OfPath(path) is not { } id) continue;
            var file = new FileInfo(path);
            var behind = Math.Max(0, file.Length - offsets.GetValueOrDefault((id.Device, id.Inode)));
            var seconds = behind == 0 ? 0 : Math.Max(0, (time.GetUtcNow() - file.LastWriteTimeUtc).TotalSeconds);
            lags.Add((StreamNames.Of(name), behind, seconds));
        }
        return lags;
    }
}
