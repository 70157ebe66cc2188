using System.Buffers;
using ZeroDisk.Tlog;

namespace ZeroDisk.NbdHost.Agent.Tests;

/// <summary>
/// A crash in the middle of an append leaves a partial record at the end of a vdisk's log (never acknowledged:
/// acks follow the fsync). Opening the log cuts it off; the complete records stay, and appends continue after them.
/// </summary>
public class When_a_tlog_file_has_a_torn_tail
{
    private static (TlogRecord Record, byte[] Frame) Encoded(long sequence)
    {
        var data = Enumerable.Range(0, 4096).Select(i => (byte)(i + sequence)).ToArray();
        var record = new TlogRecord
        {
            VdiskId = "vd1", Epoch = 1, Sequence = sequence, BlockIndex = sequence, TimestampMs = 1, Hash = TlogRecord.HashOf(data), Data = data,
        };
        var buffer = new ArrayBufferWriter<byte>();
        TlogFrames.WriteAppend(buffer, record);
        return (record, buffer.WrittenSpan.ToArray());
    }

    private static void Append(VdiskLog log, long sequence)
    {
        var (record, frame) = Encoded(sequence);
        Assert.Equal(AppendOutcome.Appended, log.Append(record.Key, record.Hash, new ReadOnlySequence<byte>(frame, TlogFrames.HeaderLength, frame.Length - TlogFrames.HeaderLength)));
    }

    [Fact]
    public void Opening_the_log_cuts_the_partial_record_and_keeps_the_rest()
    {
        using var dir = new TempDirectory("zd-tlog-torn");
        using (var log = VdiskLog.Open(dir.Path, "vd1"))
        {
            Append(log, 1);
            Append(log, 2);
            log.Sync();
        }
        var path = Path.Combine(dir.Path, VdiskLog.FileName("vd1"));
        var intactLength = new FileInfo(path).Length;
        using (var file = new FileStream(path, FileMode.Append))
            file.Write(Encoded(3).Frame.AsSpan(0, 1000)); // the crash: a third record half written

        using var reopened = VdiskLog.Open(dir.Path, "vd1");
        Assert.Equal(intactLength, new FileInfo(path).Length);
        Assert.Equal(2, reopened.HighestSequence(1));
        Append(reopened, 3);
        reopened.Sync();
        Assert.Equal([1L, 2L, 3L], reopened.ReadDurable().Select(r => r.Sequence));
        Assert.All(reopened.ReadDurable(), r => Assert.True(r.HashMatchesData()));
    }
}
