using ZeroDisk.Tlog;

namespace ZeroDisk.NbdHost.Agent.Tests;

public class When_a_tlog_record_arrives_twice
{
    private static TlogRecord Record(string vdisk, long epoch, long sequence, byte fill)
    {
        var data = Enumerable.Repeat(fill, 4096).ToArray();
        return new TlogRecord
        {
            VdiskId = vdisk, Epoch = epoch, Sequence = sequence, BlockIndex = 3, TimestampMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
            Hash = TlogRecord.HashOf(data), Data = data,
        };
    }

    [Fact]
    public async Task The_duplicate_is_acknowledged_once_logged_and_a_different_write_under_the_same_key_is_rejected()
    {
        using var dir = new TempDirectory("zd-tlog-dup");
        await using var server = await TlogServerProcess.StartAsync(dir.Path);
        var vdisk = TestNames.Unique("vd");
        var ct = TestContext.Current;

        await using (var connection = await TlogConnection.ConnectAsync(server.Address, TimeSpan.FromSeconds(5), ct))
        {
            Assert.True((await connection.AppendAsync(Record(vdisk, 7, 1, 0xAA), ct)).Acknowledged);
            Assert.True((await connection.AppendAsync(Record(vdisk, 7, 1, 0xAA), ct)).Acknowledged); // a resend after a lost ack
            var conflict = await connection.AppendAsync(Record(vdisk, 7, 1, 0xBB), ct);
            Assert.False(conflict.Acknowledged);
            Assert.Contains("different hash", conflict.RejectReason);
            Assert.True((await connection.AppendAsync(Record(vdisk, 8, 1, 0xBB), ct)).Acknowledged); // same sequence, next epoch: another key
            Assert.Equal(1, await connection.QueryHighestAsync(vdisk, 7, ct));
            Assert.Equal(0, await connection.QueryHighestAsync(vdisk, 9, ct));
        }

        // Acknowledged means fsynced: a SIGKILLed server still has both records, each once, with the first content.
        await server.KillAsync();
        await server.RestartAsync();
        await using var reader = await TlogConnection.ConnectAsync(server.Address, TimeSpan.FromSeconds(5), ct);
        var records = await reader.ReadLogAsync(vdisk, ct).ToListAsync(ct);
        Assert.Equal([new TlogKey(7, 1), new TlogKey(8, 1)], records.Select(r => r.Key));
        Assert.All(records[0].Data.ToArray(), b => Assert.Equal(0xAA, b));
        Assert.All(records[1].Data.ToArray(), b => Assert.Equal(0xBB, b));
    }
}

internal static class TestContext
{
    public static CancellationToken Current => new CancellationTokenSource(TimeSpan.FromMinutes(3)).Token;
}
