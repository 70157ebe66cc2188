namespace ZeroDisk.NbdHost.Agent.Tests;

/// <summary>
/// An NBD server that journals to three tlog servers (k = 2) is SIGKILLed in the middle of an unflushed
/// write load, and one tlog server with it. Replaying the two survivors up to the last FLUSH reproduces the image as
/// flushed; the restarted server (a higher owner epoch) writes on, and replaying everything reproduces what it
/// flushed last — the new epoch's records win over the dead server's higher sequence numbers.
/// </summary>
public class When_a_journaled_server_is_killed_mid_load(ITestOutputHelper output)
{
    private const int ImageBytes = 8 << 20;

    [Fact]
    public async Task Replay_reproduces_the_last_flush_and_then_the_restarted_servers_writes()
    {
        await using var journaled = await JournaledVdisk.CreateAsync("zd-serve-killed");
        var (vdisk, tlogs, none) = (journaled.VdiskId, journaled.Tlogs, CancellationToken.None);
        string[] survivors = [tlogs[0].Address, tlogs[2].Address];
        var first = await journaled.StartServeAsync();

        var flushed = await CopyAsync(journaled, "flushed.img", seed: 1);
        long lastFlushed;
        await using (var probe = await Tlog.TlogConnection.ConnectAsync(tlogs[0].Address, TimeSpan.FromSeconds(5), none))
            lastFlushed = await probe.QueryHighestAsync(vdisk, first, none);

        // An unflushed load, then the server and one tlog server die in its middle.
        var unflushed = journaled.File("unflushed.img");
        await File.WriteAllBytesAsync(unflushed, Image(seed: 2));
        var load = ExternalProcess.RunAsync("nbdcopy", ["--connections=1", "--requests=4", unflushed, journaled.Uri], TimeSpan.FromMinutes(3));
        await using (var probe = await Tlog.TlogConnection.ConnectAsync(tlogs[0].Address, TimeSpan.FromSeconds(5), none))
            await Eventually.ValueAsync(() => probe.QueryHighestAsync(vdisk, first, none), h => h >= lastFlushed + 64 || load.IsCompleted,
                TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(5));
        await journaled.Serve!.KillAsync();
        await tlogs[1].KillAsync();
        output.WriteLine($"server and one tlog server SIGKILLed mid-load; nbdcopy exited {(await load).ExitCode} (an error is expected)");

        var asFlushed = await Replay.ToImageMd5Async(survivors, vdisk, journaled.File("replay-flush.img"), ImageBytes, $"{first}:{lastFlushed}");
        Assert.Equal(Replay.Md5(flushed), asFlushed);
        output.WriteLine($"replay of 2 of 3 tlog servers up to the last flush ({first}:{lastFlushed}) = the flushed image: {asFlushed}");

        // The restarted server serves under a higher epoch once the dead one's lease lapsed, and writes on.
        var second = await journaled.StartServeAsync(previousEpoch: first);
        var final = await CopyAsync(journaled, "final.img", seed: 3);
        var everything = await Replay.ToImageMd5Async(survivors, vdisk, journaled.File("replay-all.img"), ImageBytes);
        Assert.Equal(Replay.Md5(final), everything);
        output.WriteLine($"after the restart (epoch {first} -> {second}) and a flushed copy, replay of everything = that copy: {everything}");
    }

    /// <summary>Copies a random image into the vdisk with a final flush; returns the image.</summary>
    private static async Task<byte[]> CopyAsync(JournaledVdisk journaled, string name, int seed)
    {
        var image = Image(seed);
        var file = journaled.File(name);
        await File.WriteAllBytesAsync(file, image);
        (await ExternalProcess.RunAsync("nbdcopy", ["--flush", "--connections=1", "--requests=4", file, journaled.Uri], TimeSpan.FromMinutes(3)))
            .EnsureSuccess($"nbdcopy {name}");
        return image;
    }

    private static byte[] Image(int seed)
    {
        var image = new byte[ImageBytes];
        new Random(seed).NextBytes(image);
        return image;
    }
}
