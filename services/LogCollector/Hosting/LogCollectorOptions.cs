using System.ComponentModel.DataAnnotations;
using ZeroDisk.ServiceDefaults.Options;

namespace ZeroDisk.LogCollector.Hosting;

/// <summary>Settings of one node's collector (configuration section "LogCollector", e.g. LogCollector__Directory).</summary>
public sealed class LogCollectorOptions
{
    public const string Section = "LogCollector";

    /// <summary>This node's name, carried in every event's source and in its MessageId.</summary>
    [Required(AllowEmptyStrings = false)]
    public string Node { get; set; } = Environment.MachineName;

    /// <summary>The node's log stream: one file per process (the node agent writes them).</summary>
    [Required(AllowEmptyStrings = false)]
    public string Directory { get; set; } = "/var/log/zerodisk";

    /// <summary>Where the per-stream positions live; default: .logcollector.checkpoint in <see cref="Directory"/> (hidden files are not tailed).</summary>
    public string? CheckpointPath { get; set; }

    /// <summary>Publish ordinary (non-event) lines as LogLineForwarded; off: drop them.</summary>
    public bool ForwardOrdinaryLines { get; set; }

    /// <summary>Also read lines from standard input (stream "stdin"; a pipe cannot be re-read, so no checkpoint).</summary>
    public bool ReadStandardInput { get; set; }

    /// <summary>Longer lines are counted as malformed and skipped without being buffered.</summary>
    [Range(256, 16 * 1024 * 1024)]
    public int MaxLineBytes { get; set; } = 64 * 1024;

    /// <summary>Most messages awaiting the broker's confirm at once (two passes of half as many, published concurrently).</summary>
    [Range(1, 4096)]
    public int MaxInFlight { get; set; } = 256;

    /// <summary>Safety net for missed inotify events (and the only wake-up where inotify is unavailable).</summary>
    [PositiveDuration]
    public TimeSpan RescanInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long one publish may wait for the broker's confirm before it is retried.</summary>
    [PositiveDuration]
    public TimeSpan PublishTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// When no publish has been confirmed for this long while publishes wait, the collector drops its broker connection
    /// and opens a new one (at most once per period). Longer than <see cref="PublishTimeout"/>.
    /// </summary>
    [PositiveDuration]
    public TimeSpan ReconnectAfter { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Backoff between retries of an unconfirmed publish: doubles from the first to the last value.</summary>
    [PositiveDuration]
    public TimeSpan RetryMinDelay { get; set; } = TimeSpan.FromMilliseconds(100);
    [PositiveDuration]
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromSeconds(5);

    internal int ReadChunkBytes => 64 * 1024;

    /// <summary>A batch never holds more than this many line bytes (forwarded lines are copied into messages).</summary>
    internal long MaxBatchBytes => 16L * 1024 * 1024;

    public string ResolveCheckpointPath() =>
        CheckpointPath ?? System.IO.Path.Combine(Directory, ".logcollector.checkpoint");
}
