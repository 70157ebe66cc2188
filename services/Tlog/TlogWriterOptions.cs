namespace ZeroDisk.Tlog;

/// <summary>How a <see cref="TlogWriter"/> logs one vdisk's writes to its tlog cluster.</summary>
public sealed record TlogWriterOptions
{
    public required string VdiskId { get; init; }
    /// <summary>The owner epoch of this writer (<c>&lt;vdiskID&gt;:vdisk:owner</c>); part of every record's key.</summary>
    public required long Epoch { get; init; }
    /// <summary>Every tlog server of the vdisk's tlog cluster, "host:port" (at most 64).</summary>
    public required IReadOnlyList<string> Servers { get; init; }
    /// <summary>k: a record is durable once this many servers fsynced it (default 2).</summary>
    public int RequiredAcks { get; init; } = 2;
    /// <summary>How long FlushAsync waits for k acknowledgements before it fails (the only case the VM sees EIO).</summary>
    public TimeSpan FlushTimeout { get; init; } = TimeSpan.FromSeconds(10);
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(2);
    public TimeSpan ReconnectDelay { get; init; } = TimeSpan.FromMilliseconds(200);
    /// <summary>Appends wait once this many records are not yet durable (backpressure instead of unbounded memory).</summary>
    public int MaxUndurableRecords { get; init; } = 8192;
    /// <summary>
    /// Durable records are kept to catch up a server that is down until it has them too, up to this many bytes;
    /// beyond it the oldest go, and a server that comes back later misses them (they are on k others).
    /// </summary>
    public long MaxRetainedBytes { get; init; } = 256L * 1024 * 1024;
    /// <summary>The tlog cluster's shared secret, when its servers ask for one (<see cref="TlogSecret"/>).</summary>
    public TlogSecret? Secret { get; init; }
}

/// <summary>Fewer than k tlog servers acknowledged in time: the data since the last flush is not durable.</summary>
public sealed class TlogNotDurableException(string message) : IOException(message);
