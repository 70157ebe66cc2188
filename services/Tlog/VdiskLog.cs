using System.Buffers;
using System.Buffers.Binary;
using System.Text.RegularExpressions;

namespace ZeroDisk.Tlog;

/// <summary>The outcome of offering one record to a vdisk's log.</summary>
public enum AppendOutcome
{
    Appended,
    /// <summary>Same key, same hash: already logged (a resend after a lost ack); acknowledged again.</summary>
    Duplicate,
    /// <summary>Same key, different hash: two different writes claim one place in the log; refused.</summary>
    Conflict,
}

/// <summary>
/// The durable log of one vdisk on one tlog server: <c>&lt;data&gt;/&lt;vdisk&gt;.tlog</c>, a sequence of Append
/// frames. Appends go to the page cache; <see cref="Sync"/> fsyncs them, and only then are they acknowledged
/// (group commit, see README). An index of (epoch, sequence) → hash answers duplicates and highest-sequence queries.
/// A torn record at the tail (a crash mid-append, never acknowledged) is cut off when the log is opened.
/// </summary>
public sealed partial class VdiskLog : IDisposable
{
    private readonly Lock _gate = new();
    private readonly FileStream _file;
    private readonly Dictionary<TlogKey, ulong> _hashes = [];
    private readonly Dictionary<long, long> _highestByEpoch = [];
    private long _durableLength;

    private VdiskLog(string path, FileStream file)
    {
        Path = path;
        _file = file;
    }

    public string Path { get; }
    public long RecordCount { get { lock (_gate) return _hashes.Count; } }

    [GeneratedRegex("^[A-Za-z0-9_.-]{1,200}$")]
    private static partial Regex SafeVdiskId();

    public static bool IsValidVdiskId(string vdiskId) => SafeVdiskId().IsMatch(vdiskId) && vdiskId is not ("." or "..");

    public static string FileName(string vdiskId) => vdiskId + ".tlog";

    public static VdiskLog Open(string directory, string vdiskId)
    {
        if (!IsValidVdiskId(vdiskId)) throw new ArgumentException($"'{vdiskId}' is not a valid vdisk id for a log file", nameof(vdiskId));
        var path = System.IO.Path.Combine(directory, FileName(vdiskId));
        var file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read, 1 << 16);
        var log = new VdiskLog(path, file);
        log.LoadIndex();
        return log;
    }

    private void LoadIndex()
    {
        long goodLength = 0;
        foreach (var (record, endOffset) in ReadFrames(Path, long.MaxValue))
        {
            if (!record.HashMatchesData()) break; // torn or garbled tail: never acknowledged
            Index(record.Key, record.Hash);
            goodLength = endOffset;
        }
        if (_file.Length != goodLength) _file.SetLength(goodLength);
        _file.Position = goodLength;
        _durableLength = goodLength;
    }

    /// <summary>Appends an Append frame (its body as received) unless its key is logged.</summary>
    public AppendOutcome Append(TlogKey key, ReadOnlySpan<byte> hash, ReadOnlySequence<byte> body)
    {
        Span<byte> header = stackalloc byte[TlogFrames.HeaderLength];
        BinaryPrimitives.WriteInt32BigEndian(header, 1 + (int)body.Length);
        header[4] = (byte)TlogFrameType.Append;
        var hashPrefix = BinaryPrimitives.ReadUInt64BigEndian(hash);
        lock (_gate)
        {
            if (_hashes.TryGetValue(key, out var existing))
                return existing == hashPrefix ? AppendOutcome.Duplicate : AppendOutcome.Conflict;
            _file.Write(header);
            foreach (var segment in body) _file.Write(segment.Span);
            Index(key, hash);
            return AppendOutcome.Appended;
        }
    }

    /// <summary>fsync: everything appended so far survives a crash or power loss once this returns.</summary>
    public void Sync()
    {
        lock (_gate)
        {
            _file.Flush(flushToDisk: true);
            _durableLength = _file.Position;
        }
    }

    /// <summary>The highest durable sequence for (epoch), 0 when none. Syncs first so the answer is durable.</summary>
    public long HighestSequence(long epoch)
    {
        Sync();
        lock (_gate) return _highestByEpoch.GetValueOrDefault(epoch);
    }

    /// <summary>The durable records, in log order (a snapshot: appends made meanwhile are not included).</summary>
    public IEnumerable<TlogRecord> ReadDurable()
    {
        long length;
        lock (_gate) length = _durableLength;
        foreach (var (record, _) in ReadFrames(Path, length)) yield return record;
    }

    private void Index(TlogKey key, ReadOnlySpan<byte> hash)
    {
        _hashes[key] = BinaryPrimitives.ReadUInt64BigEndian(hash);
        if (key.Sequence > _highestByEpoch.GetValueOrDefault(key.Epoch)) _highestByEpoch[key.Epoch] = key.Sequence;
    }

    private static IEnumerable<(TlogRecord Record, long EndOffset)> ReadFrames(string path, long limit)
    {
        using var reader = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 16);
        var header = new byte[TlogFrames.HeaderLength];
        long offset = 0;
        while (offset + TlogFrames.HeaderLength <= Math.Min(limit, reader.Length))
        {
            reader.ReadExactly(header);
            var length = BinaryPrimitives.ReadInt32BigEndian(header);
            if (length < 1 || length > TlogFrames.MaxFrameLength || header[4] != (byte)TlogFrameType.Append) yield break;
            if (offset + 4 + length > Math.Min(limit, reader.Length)) yield break;
            var body = ArrayPool<byte>.Shared.Rent(length - 1);
            TlogRecord record;
            try
            {
                reader.ReadExactly(body, 0, length - 1);
                try
                {
                    record = TlogFrames.ReadRecord(new ReadOnlySequence<byte>(body, 0, length - 1));
                }
                catch (InvalidDataException)
                {
                    yield break;
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(body);
            }
            offset += 4 + length;
            yield return (record, offset);
        }
    }

    public void Dispose()
    {
        lock (_gate) _file.Dispose();
    }
}
