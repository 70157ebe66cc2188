using Microsoft.Extensions.Logging.Abstractions;
using ZeroDisk.Tlog;

namespace ZeroDisk.NbdHost.Agent.Tests;

/// <summary>
/// Three tlog servers, k = 2. One is SIGKILLed in the middle of a round of writes (records sent, not yet flushed):
/// no append or flush fails, and replaying from the two survivors gives exactly the data written up to the last
/// flush. The killed server comes back, is caught up, and then replaces a second killed server in a replay.
/// </summary>
public class When_a_tlog_server_is_killed_during_writes(ITestOutputHelper output)
{
    private const int BlockSize = 4096;
    private const int Blocks = 256;
    private const int Rounds = 30;
    private const int WritesPerRound = 100;

    [Fact]
    public async Task No_write_fails_and_replay_from_the_survivors_reproduces_every_flushed_write()
    {
        var ct = TestContext.Current;
        using var dir = new TempDirectory("zd-tlog-kill");
        var servers = new List<TlogServerProcess>();
        try
        {
            for (var i = 0; i < 3; i++) servers.Add(await TlogServerProcess.StartAsync(Path.Combine(dir.Path, $"tlog{i}")));
            var vdisk = TestNames.Unique("vd");
            var options = new TlogWriterOptions { VdiskId = vdisk, Epoch = 1, Servers = servers.Select(s => s.Address).ToList(), RequiredAcks = 2,
                // Correctness, not latency: a 2-core machine shared with other test runs may stall for seconds.
                FlushTimeout = TimeSpan.FromSeconds(60) };
            var image = new byte[Blocks * BlockSize];
            var random = new Random(1234);
            string? midpointMd5 = null;
            long midpointSequence = 0;

            var phase = System.Diagnostics.Stopwatch.StartNew();
            void Phase(string what)
            {
                output.WriteLine($"{what}: {phase.Elapsed.TotalSeconds:0.00} s");
                phase.Restart();
            }
            Phase("3 tlog servers started");
            var writer = await TlogWriter.OpenAsync(options, NullLogger.Instance, ct);
            try
            {
                for (var round = 0; round < Rounds; round++)
                {
                    for (var w = 0; w < WritesPerRound; w++)
                    {
                        var block = random.Next(Blocks);
                        var data = image.AsMemory(block * BlockSize, BlockSize);
                        if (random.Next(10) == 0) data.Span.Clear(); else random.NextBytes(data.Span);
                        await writer.AppendAsync(block, data, ct);
                        if (round == 10 && w == WritesPerRound / 2) await servers[1].KillAsync(); // records in flight
                    }
                    await writer.FlushAsync(ct);
                    if (round == 15)
                    {
                        midpointSequence = writer.LastSequence;
                        midpointMd5 = Replay.Md5(image);
                    }
                    if (round == 20) await servers[1].RestartAsync();
                }
                Phase($"{Rounds} rounds of {WritesPerRound} writes + flush");
                Assert.Equal(Rounds * WritesPerRound, writer.LastSequence);
                Assert.Equal(writer.LastSequence, writer.DurableSequence);

                // The restarted server is caught up from the writer's kept records.
                await using (var probe = await TlogConnection.ConnectAsync(servers[1].Address, TimeSpan.FromSeconds(5), ct))
                {
                    await Eventually.PollAsync(() => probe.QueryHighestAsync(vdisk, 1, ct), highest => highest >= writer.LastSequence, TimeSpan.FromSeconds(90), ct: ct);
                    Assert.Equal(writer.LastSequence, await probe.QueryHighestAsync(vdisk, 1, ct));
                }
                Phase("restarted server caught up");
            }
            finally
            {
                await writer.DisposeAsync();
            }

            var expected = Replay.Md5(image);
            var size = (long)Blocks * BlockSize;
            Assert.Equal(expected, await Replay.ToImageMd5Async([servers[0].Address, servers[2].Address], vdisk, dir.File("a.img"), size));

            // The server that was down for rounds 10..20 now holds everything: it and one other are enough.
            await servers[0].KillAsync();
            Assert.Equal(expected, await Replay.ToImageMd5Async(servers.Select(s => s.Address), vdisk, dir.File("b.img"), size));
            // Point in time: up to the flush of round 15.
            Assert.Equal(midpointMd5, await Replay.ToImageMd5Async([servers[1].Address, servers[2].Address], vdisk, dir.File("c.img"), size, midpointSequence.ToString()));

            Phase("3 replays");
            // A writer restarted with the same epoch resumes above the highest sequence the tlog holds.
            await using var resumed = await TlogWriter.OpenAsync(options, NullLogger.Instance, ct);
            Assert.Equal(Rounds * WritesPerRound, resumed.LastSequence);
            output.WriteLine($"{Rounds * WritesPerRound} writes, {Rounds} flushes, one tlog server SIGKILLed mid-round and restarted; replay md5 {expected}");
        }
        finally
        {
            foreach (var s in servers) await s.DisposeAsync();
        }
    }
}
