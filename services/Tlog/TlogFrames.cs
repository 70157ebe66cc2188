using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Text;

namespace ZeroDisk.Tlog;

/// <summary>The kinds of frame on a tlog connection (and in a log file, which holds <see cref="Append"/> frames).</summary>
public enum TlogFrameType : byte
{
    /// <summary>client → server: a record to log; answered by <see cref="Ack"/> or <see cref="Reject"/>, in order.</summary>
    Append = 1,
    /// <summary>server → client: the record with this sequence is fsynced (or was already there with the same hash).</summary>
    Ack = 2,
    /// <summary>server → client: the record was refused (same key, different hash; bad vdisk id), with a reason.</summary>
    Reject = 3,
    /// <summary>client → server: the highest sequence held for (vdisk, epoch); answered by <see cref="Highest"/>.</summary>
    QueryHighest = 4,
    Highest = 5,
    /// <summary>client → server: every record of a vdisk; answered by <see cref="Record"/> frames and one <see cref="End"/>.</summary>
    ReadLog = 6,
    Record = 7,
    End = 8,
    /// <summary>server → client: a request that could not be served; the server closes the connection after it.</summary>
    Error = 9,
    /// <summary>server → client, first frame of every connection: secret required (1 byte), nonce (32); see <see cref="TlogSecret"/>.</summary>
    Challenge = 10,
    /// <summary>client → server: client nonce (32), proof (32).</summary>
    Authenticate = 11,
    /// <summary>server → client: the server's proof (32).</summary>
    Authenticated = 12,
}

/// <summary>
/// The tlog wire format: every frame is a 4-byte big-endian length (of what follows), a type byte and a body.
/// Strings are a 2-byte length and UTF-8. An Append body: vdisk, epoch, sequence, block index, timestamp (Unix ms),
/// 32-byte SHA-256, 4-byte data length, data. The log file is a plain sequence of Append frames.
/// </summary>
public static class TlogFrames
{
    public const int HeaderLength = 5;

    /// <summary>
    /// Socket reads of up to 512 KiB: with the default 4 KiB a read rarely holds more than one 4 KiB record, and
    /// the server's group commit (one fsync per read batch) would degrade to one fsync per record.
    /// </summary>
    public static readonly StreamPipeReaderOptions ReaderOptions = new(bufferSize: 512 * 1024, minimumReadSize: 64 * 1024, leaveOpen: true);

    /// <summary>The stream outlives the pipes: its owner disposes it after completing both.</summary>
    public static readonly StreamPipeWriterOptions WriterOptions = new(leaveOpen: true);

    /// <summary>
    /// Completes a connection's pipes. Completing the writer flushes what is buffered, which on a broken connection
    /// fails: there is nobody left to tell.
    /// </summary>
    public static async ValueTask CompleteQuietlyAsync(PipeReader input, PipeWriter output)
    {
        try
        {
            await output.CompleteAsync();
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or System.Net.Sockets.SocketException or OperationCanceledException)
        {
        }
        await input.CompleteAsync();
    }
    public const int MaxFrameLength = 64 * 1024 * 1024;

    public static void WriteAppend(IBufferWriter<byte> output, TlogRecord record, TlogFrameType type = TlogFrameType.Append)
    {
        var vdiskBytes = Encoding.UTF8.GetByteCount(record.VdiskId);
        var bodyLength = 2 + vdiskBytes + 8 * 4 + TlogRecord.HashLength + 4 + record.Data.Length;
        var span = output.GetSpan(HeaderLength + bodyLength);
        BinaryPrimitives.WriteInt32BigEndian(span, 1 + bodyLength);
        span[4] = (byte)type;
        var body = span[HeaderLength..];
        body = WriteString(body, record.VdiskId, vdiskBytes);
        BinaryPrimitives.WriteInt64BigEndian(body, record.Epoch);
        BinaryPrimitives.WriteInt64BigEndian(body[8..], record.Sequence);
        BinaryPrimitives.WriteInt64BigEndian(body[16..], record.BlockIndex);
        BinaryPrimitives.WriteInt64BigEndian(body[24..], record.TimestampMs);
        record.Hash.CopyTo(body[32..]);
        BinaryPrimitives.WriteInt32BigEndian(body[(32 + TlogRecord.HashLength)..], record.Data.Length);
        record.Data.Span.CopyTo(body[(36 + TlogRecord.HashLength)..]);
        output.Advance(HeaderLength + bodyLength);
    }

    public static void WriteSequence(IBufferWriter<byte> output, TlogFrameType type, long sequence)
    {
        var span = output.GetSpan(HeaderLength + 8);
        BinaryPrimitives.WriteInt32BigEndian(span, 9);
        span[4] = (byte)type;
        BinaryPrimitives.WriteInt64BigEndian(span[5..], sequence);
        output.Advance(HeaderLength + 8);
    }

    public static void WriteReject(IBufferWriter<byte> output, long sequence, string reason)
    {
        var reasonBytes = Encoding.UTF8.GetByteCount(reason);
        var span = output.GetSpan(HeaderLength + 8 + 2 + reasonBytes);
        BinaryPrimitives.WriteInt32BigEndian(span, 1 + 8 + 2 + reasonBytes);
        span[4] = (byte)TlogFrameType.Reject;
        BinaryPrimitives.WriteInt64BigEndian(span[5..], sequence);
        WriteString(span[13..], reason, reasonBytes);
        output.Advance(HeaderLength + 8 + 2 + reasonBytes);
    }

    /// <summary>QueryHighest, or (with <paramref name="type"/> ReadLog) a log read: the same body, vdisk and the owner epoch presented.</summary>
    public static void WriteQueryHighest(IBufferWriter<byte> output, string vdiskId, long epoch, TlogFrameType type = TlogFrameType.QueryHighest)
    {
        var vdiskBytes = Encoding.UTF8.GetByteCount(vdiskId);
        var span = output.GetSpan(HeaderLength + 2 + vdiskBytes + 8);
        BinaryPrimitives.WriteInt32BigEndian(span, 1 + 2 + vdiskBytes + 8);
        span[4] = (byte)type;
        var rest = WriteString(span[HeaderLength..], vdiskId, vdiskBytes);
        BinaryPrimitives.WriteInt64BigEndian(rest, epoch);
        output.Advance(HeaderLength + 2 + vdiskBytes + 8);
    }

    public static void WriteText(IBufferWriter<byte> output, TlogFrameType type, string text)
    {
        var bytes = Encoding.UTF8.GetByteCount(text);
        var span = output.GetSpan(HeaderLength + 2 + bytes);
        BinaryPrimitives.WriteInt32BigEndian(span, 1 + 2 + bytes);
        span[4] = (byte)type;
        WriteString(span[HeaderLength..], text, bytes);
        output.Advance(HeaderLength + 2 + bytes);
    }

    public static void WriteEmpty(IBufferWriter<byte> output, TlogFrameType type)
    {
        var span = output.GetSpan(HeaderLength);
        BinaryPrimitives.WriteInt32BigEndian(span, 1);
        span[4] = (byte)type;
        output.Advance(HeaderLength);
    }

    /// <summary>Cuts one whole frame off the front of <paramref name="buffer"/>; false when more bytes are needed.</summary>
    public static bool TryReadFrame(ref ReadOnlySequence<byte> buffer, out TlogFrameType type, out ReadOnlySequence<byte> body)
    {
        type = default;
        body = default;
        if (buffer.Length < HeaderLength) return false;
        Span<byte> header = stackalloc byte[HeaderLength];
        buffer.Slice(0, HeaderLength).CopyTo(header);
        var length = BinaryPrimitives.ReadInt32BigEndian(header);
        if (length < 1 || length > MaxFrameLength)
            throw new InvalidDataException($"tlog frame length {length} is out of range");
        if (buffer.Length < 4 + length) return false;
        type = (TlogFrameType)header[4];
        body = buffer.Slice(HeaderLength, length - 1);
        buffer = buffer.Slice(4 + length);
        return true;
    }

    /// <summary>Reads an Append/Record body; the data is copied out, so the record outlives the buffer.</summary>
    public static TlogRecord ReadRecord(ReadOnlySequence<byte> body)
    {
        var reader = new SequenceReader<byte>(body);
        var vdisk = ReadString(ref reader);
        if (!reader.TryReadBigEndian(out long epoch) || !reader.TryReadBigEndian(out long sequence)
            || !reader.TryReadBigEndian(out long block) || !reader.TryReadBigEndian(out long timestamp))
            throw new InvalidDataException("tlog record header is truncated");
        var hash = new byte[TlogRecord.HashLength];
        if (!reader.TryCopyTo(hash)) throw new InvalidDataException("tlog record hash is truncated");
        reader.Advance(TlogRecord.HashLength);
        if (!reader.TryReadBigEndian(out int dataLength) || dataLength < 0 || reader.Remaining != dataLength)
            throw new InvalidDataException("tlog record data length does not match the frame");
        var data = reader.UnreadSequence.ToArray();
        return new TlogRecord { VdiskId = vdisk, Epoch = epoch, Sequence = sequence, BlockIndex = block, TimestampMs = timestamp, Hash = hash, Data = data };
    }

    public static long ReadSequence(ReadOnlySequence<byte> body)
    {
        var reader = new SequenceReader<byte>(body);
        return reader.TryReadBigEndian(out long value) ? value : throw new InvalidDataException("tlog frame lacks its sequence");
    }

    public static (long Sequence, string Reason) ReadReject(ReadOnlySequence<byte> body)
    {
        var reader = new SequenceReader<byte>(body);
        if (!reader.TryReadBigEndian(out long sequence)) throw new InvalidDataException("tlog reject lacks its sequence");
        return (sequence, ReadString(ref reader));
    }

    public static (string VdiskId, long Epoch) ReadQueryHighest(ReadOnlySequence<byte> body)
    {
        var reader = new SequenceReader<byte>(body);
        var vdisk = ReadString(ref reader);
        return reader.TryReadBigEndian(out long epoch) ? (vdisk, epoch) : throw new InvalidDataException("tlog query lacks its epoch");
    }

    public static string ReadText(ReadOnlySequence<byte> body)
    {
        var reader = new SequenceReader<byte>(body);
        return ReadString(ref reader);
    }

    private static Span<byte> WriteString(Span<byte> span, string text, int byteCount)
    {
        if (byteCount > ushort.MaxValue) throw new ArgumentException("string too long for a tlog frame", nameof(text));
        BinaryPrimitives.WriteUInt16BigEndian(span, (ushort)byteCount);
        Encoding.UTF8.GetBytes(text, span[2..]);
        return span[(2 + byteCount)..];
    }

    private static string ReadString(ref SequenceReader<byte> reader)
    {
        if (!reader.TryReadBigEndian(out short signedLength)) throw new InvalidDataException("tlog string length is truncated");
        var length = (ushort)signedLength;
        if (reader.Remaining < length) throw new InvalidDataException("tlog string is truncated");
        var text = Encoding.UTF8.GetString(reader.UnreadSequence.Slice(0, length));
        reader.Advance(length);
        return text;
    }
}
