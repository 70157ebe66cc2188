using System.ComponentModel.DataAnnotations;
using ZeroDisk.ServiceDefaults.Options;

namespace ZeroDisk.Storage;

/// <summary>
/// Timeouts and sizes of the storage path. Short timeouts bound the I/O stall of a failover (the
/// client sees no error): a dead engine is noticed within <see cref="CommandTimeout"/> at worst.
/// </summary>
public sealed record StorageOptions
{
    public const string Section = "Storage";

    /// <summary>
    /// Longest wait for one Redis command before the engine counts as failed. A killed engine fails by connection
    /// reset at once; this bounds the stall behind a hung one (under 1 s with the retry on the twin). 500 ms proved
    /// too short: sequential 1 MiB writes on 2 busy cores, with an AOF rewrite's fork, timed out on both sides of a
    /// shard at once (EIO) although both engines were healthy.
    /// </summary>
    [PositiveDuration]
    public TimeSpan CommandTimeout { get; init; } = TimeSpan.FromMilliseconds(800);

    /// <summary>
    /// How long connecting may take. A dead engine refuses at once, so this does not bound the failover stall; too
    /// short, and a busy machine marks healthy engines failed at start-up.
    /// </summary>
    [PositiveDuration]
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>How often the client checks for timed-out commands; bounds how late a timeout is noticed.</summary>
    [PositiveDuration]
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Blocks written this recently may be lost by an engine that crashes (appendfsync everysec): a crashed engine may have lost its last second.</summary>
    [PositiveDuration]
    public TimeSpan RecentWriteWindow { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// How long an engine that answers -LOADING (restarted, still reading its files: minutes for a large dataset) is
    /// waited for before its identity check, after a reconnect or when etcd brings it back. It is not wrong, only not
    /// ready; checked while loading it would fail, and stay failed here until etcd next changes its state.
    /// </summary>
    [PositiveDuration]
    public TimeSpan EngineLoadingWait { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Commands in flight per engine (pipelined on its one connection); more wait their turn in this process.</summary>
    [Range(1, 65536)]
    public int MaxCommandsInFlightPerEngine { get; init; } = 256;

    /// <summary>Block operations of one request in flight at once.</summary>
    [Range(1, 65536)]
    public int MaxBlocksInFlight { get; init; } = 128;

    /// <summary>Lock stripes per vdisk that order writes and repair copies of the same block.</summary>
    [Range(1, 1 << 20)]
    public int BlockLockStripes { get; init; } = 4096;

    /// <summary>
    /// Repair page size: the respread's HSCAN COUNT; the tmp repair takes pages of 4 × this many dirty blocks and
    /// copies a whole page at once, in parts that share no lock stripe.
    /// </summary>
    [Range(1, 1 << 20)]
    public int RepairBatch { get; init; } = 256;

    /// <summary>
    /// Bytes per second one repair copies at most (0: as fast as the engines go). A cap keeps a big resync from
    /// crowding out the VM's own I/O on shared engines; an operator trades repair time for I/O latency.
    /// </summary>
    [Range(0, long.MaxValue)]
    public long RepairBytesPerSecond { get; init; }

    [PositiveDuration]
    public TimeSpan RepairProgressInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a repair waits before checking again whether its source and target are usable.</summary>
    [PositiveDuration]
    public TimeSpan RepairRetryDelay { get; init; } = TimeSpan.FromMilliseconds(500);
}
