using Microsoft.Extensions.Logging;

namespace ZeroDisk.Tlog;

/// <summary>Where a replay stops: at a key (inclusive), at a wall-clock time (inclusive), or nowhere.</summary>
public abstract record ReplayLimit
{
    public sealed record All : ReplayLimit;
    public sealed record UpToKey(TlogKey Key) : ReplayLimit;
    /// <summary>A plain sequence: up to that sequence of the newest epoch in the log.</summary>
    public sealed record UpToSequenceOfLastEpoch(long Sequence) : ReplayLimit;
    public sealed record UpToTime(DateTimeOffset Time) : ReplayLimit;

    /// <summary>"2026-11-25T04:00:00Z" (time), "7:1200" (epoch:sequence), "1200" (sequence of the newest epoch), or empty.</summary>
    public static ReplayLimit Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return new All();
        var parts = text.Split(':');
        if (parts.Length == 2 && long.TryParse(parts[0], out var epoch) && long.TryParse(parts[1], out var seq))
            return new UpToKey(new TlogKey(epoch, seq));
        if (long.TryParse(text, out var sequence)) return new UpToSequenceOfLastEpoch(sequence);
        if (DateTimeOffset.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var time))
            return new UpToTime(time);
        throw new FormatException($"--until '{text}' is neither a timestamp, epoch:sequence, nor a sequence");
    }
}

/// <summary>
/// What a reader presents to tlog servers: the cluster's secret (when they ask for one) and the owner epoch it holds
/// for the vdisk (when they check epochs, only the current owner may read).
/// </summary>
public sealed record TlogCredentials(TlogSecret? Secret, long Epoch)
{
    public static readonly TlogCredentials None = new(null, 0);
}

/// <summary>What a replay found and applied.</summary>
public sealed record ReplayResult(int ServersRead, int ServersUnreachable, long Records, long Applied, TlogKey? LastApplied, int Conflicts);

/// <summary>
/// Rebuilds a vdisk from its tlog: reads the log from every reachable server, merges the records by key (a record
/// durable on k servers survives the loss of any k-1), and applies them in key order up to a limit.
/// </summary>
public static class TlogReplay
{
    public const int DefaultBlockSize = 4096;

    public static async Task<(SortedDictionary<TlogKey, TlogRecord> Records, int Read, int Unreachable, int Conflicts)> MergeAsync(
        IReadOnlyList<string> servers, string vdiskId, TlogCredentials credentials, ILogger logger, CancellationToken ct)
    {
        var merged = new SortedDictionary<TlogKey, TlogRecord>();
        int read = 0, unreachable = 0, conflicts = 0;
        foreach (var address in servers)
        {
            try
            {
                await using var connection = await TlogConnection.ConnectAsync(address, TimeSpan.FromSeconds(3), ct, credentials.Secret);
                await foreach (var record in connection.ReadLogAsync(vdiskId, credentials.Epoch, ct))
                {
                    if (!merged.TryAdd(record.Key, record) && !merged[record.Key].Hash.AsSpan().SequenceEqual(record.Hash))
                    {
                        conflicts++;
                        logger.LogError("tlog servers disagree on {Vdisk} {Key}; keeping the first copy read", vdiskId, record.Key);
                    }
                }
                read++;
            }
            catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or OperationCanceledException && !ct.IsCancellationRequested)
            {
                unreachable++;
                logger.LogWarning("tlog server {Server} not read: {Reason}", address, ex.Message);
            }
        }
        return (merged, read, unreachable, conflicts);
    }

    /// <summary>Writes the merged records into a raw image file (created or overwritten in place) of <paramref name="size"/> bytes, or as large as the highest block needs.</summary>
    public static async Task<ReplayResult> ToImageFileAsync(IReadOnlyList<string> servers, string vdiskId, string imagePath,
        long? size, int? blockSize, ReplayLimit limit, TlogCredentials credentials, ILogger logger, CancellationToken ct)
    {
        var (selected, stats) = await SelectAsync(servers, vdiskId, limit, credentials, logger, ct);
        // Empty data is an all-zero block (the storage deletes those); the others give the block size.
        var size0 = blockSize ?? selected.FirstOrDefault(r => !r.Data.IsEmpty)?.Data.Length ?? DefaultBlockSize;
        var zeroes = new byte[size0];
        await using var image = new FileStream(imagePath, FileMode.OpenOrCreate, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true);
        if (size is { } bytes) image.SetLength(bytes);
        TlogKey? last = null;
        foreach (var record in selected)
        {
            if (!record.Data.IsEmpty && record.Data.Length != size0)
                throw new InvalidDataException($"{vdiskId} {record.Key}: block of {record.Data.Length} bytes in a log of {size0}-byte blocks");
            var offset = record.BlockIndex * size0;
            if (size is { } limitBytes && offset + size0 > limitBytes)
                throw new InvalidDataException($"{vdiskId} {record.Key}: block {record.BlockIndex} lies beyond the {limitBytes}-byte image");
            await RandomAccess.WriteAsync(image.SafeFileHandle, record.Data.IsEmpty ? zeroes : record.Data, offset, ct);
            last = record.Key;
        }
        if (size is null && selected.Count > 0)
            image.SetLength(Math.Max(image.Length, (selected.Max(r => r.BlockIndex) + 1) * size0));
        image.Flush(flushToDisk: true);
        return stats with { Applied = selected.Count, LastApplied = last };
    }

    /// <summary>The merged records up to the limit, in key order, and what the merge found.</summary>
    public static async Task<(List<TlogRecord> Selected, ReplayResult Stats)> SelectAsync(IReadOnlyList<string> servers, string vdiskId,
        ReplayLimit limit, TlogCredentials credentials, ILogger logger, CancellationToken ct)
    {
        var (records, read, unreachable, conflicts) = await MergeAsync(servers, vdiskId, credentials, logger, ct);
        if (read == 0) throw new IOException($"no tlog server of [{string.Join(", ", servers)}] could be read");
        var lastEpoch = records.Count > 0 ? records.Keys.Max().Epoch : 0;
        var selected = records.Values.Where(r => Includes(limit, r, lastEpoch)).ToList();
        return (selected, new ReplayResult(read, unreachable, records.Count, selected.Count, selected.Count > 0 ? selected[^1].Key : null, conflicts));
    }

    private static bool Includes(ReplayLimit limit, TlogRecord record, long lastEpoch) => limit switch
    {
        ReplayLimit.All => true,
        ReplayLimit.UpToKey k => record.Key <= k.Key,
        ReplayLimit.UpToSequenceOfLastEpoch s => record.Key <= new TlogKey(lastEpoch, s.Sequence),
        ReplayLimit.UpToTime t => record.TimestampMs <= t.Time.ToUnixTimeMilliseconds(),
        _ => throw new ArgumentOutOfRangeException(nameof(limit)),
    };
}
