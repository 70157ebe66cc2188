namespace ZeroDisk.NbdHost.Agent.Tests;

/// <summary>
/// End to end: <c>nbdhost serve</c> over private Redis engines journals every write to a tlog cluster of three
/// <c>nbdhost tlog</c> servers (k = 2). nbdcopy writes an image with a final flush while one tlog server is SIGKILLed:
/// the copy sees no error, and <c>nbdhost replay</c> from the two survivors rebuilds exactly the copied image, both
/// as an image file and into the storage clusters of a new vdisk (read back through the server).
/// </summary>
public class When_nbdhost_serve_journals_to_tlog_servers_and_one_dies(ITestOutputHelper output)
{
    private const int ImageBytes = 8 << 20;

    [Fact]
    public async Task The_client_sees_no_error_and_replay_rebuilds_the_image()
    {
        var infra = await SharedInfrastructure.GetAsync();
        await using var journaled = await JournaledVdisk.CreateAsync("zd-serve-tlog");
        var (vdisk, tlogs, none) = (journaled.VdiskId, journaled.Tlogs, CancellationToken.None);
        var restored = TestNames.Unique("restored");
        try
        {
            var epoch = await journaled.StartServeAsync();

            var image = new byte[ImageBytes];
            new Random(77).NextBytes(image);
            var input = journaled.File("in.img");
            await File.WriteAllBytesAsync(input, image);
            var copy = ExternalProcess.RunAsync("nbdcopy", ["--flush", "--connections=1", "--requests=2", input, journaled.Uri], TimeSpan.FromMinutes(3));
            // Kill once the journal is under way: records logged, the copy still writing.
            await using (var probe = await Tlog.TlogConnection.ConnectAsync(tlogs[0].Address, TimeSpan.FromSeconds(5), none))
            {
                var atKill = await Eventually.ValueAsync(() => probe.QueryHighestAsync(vdisk, epoch, none), h => h >= 64 || copy.IsCompleted,
                    TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(5));
                await tlogs[1].KillAsync();
                var copied = await copy;
                copied.EnsureSuccess("nbdcopy into nbdhost serve while a tlog server was killed");
                var total = await probe.QueryHighestAsync(vdisk, epoch, none);
                output.WriteLine($"tlog server SIGKILLed at record {atKill} of {total}");
                Assert.True(atKill < total, "the kill did not happen during the copy");
            }

            var replayed = await Replay.ToImageMd5Async([tlogs[0].Address, tlogs[2].Address], vdisk, journaled.File("replayed.img"), ImageBytes);
            output.WriteLine($"8 MiB copied through nbdhost serve; replay from 2 of 3 tlog servers: {replayed}");
            Assert.Equal(Replay.Md5(image), replayed);

            // Replay into storage: a new vdisk on the same clusters, rebuilt through the storage write path, then
            // exported by the running server (hot add) and read back with qemu-img dd.
            await journaled.PutAsync(EtcdKeys.VdiskStaticConfig(restored), new VdiskStaticConfig(4096, false, 1, "db"));
            await journaled.PutAsync(EtcdKeys.VdiskNbdConfig(restored), new VdiskNbdConfig(journaled.PrimaryClusterId, journaled.SlaveClusterId));
            var (fileName, prefix) = NbdHostProcess.Executable();
            (await ExternalProcess.RunAsync(fileName, [.. prefix, "replay", "--tlog", $"{tlogs[0].Address},{tlogs[2].Address}", "--vdisk", vdisk,
                "--to", $"storage:{restored}", "--etcd", infra.EtcdEndpoints], TimeSpan.FromMinutes(2))).EnsureSuccess("nbdhost replay into storage");
            await journaled.PutAsync(EtcdKeys.NbdServerVdisks(journaled.ServerId), new NbdServerVdisksConfig([vdisk, restored]));
            var readBack = journaled.File("restored.img");
            await Eventually.ValueAsync(async () => (await ExternalProcess.RunAsync("qemu-img",
                ["dd", "-f", "raw", "-O", "raw", $"if=nbd://127.0.0.1:{journaled.Port}/{restored}", $"of={readBack}", "bs=1M", $"count={ImageBytes >> 20}"])).ExitCode,
                code => code == 0, TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(500));
            Assert.Equal(Replay.Md5(image), Replay.Md5(await File.ReadAllBytesAsync(readBack)));
            output.WriteLine($"replayed into the storage of {restored}: read back through nbdhost serve with the same md5");
        }
        finally
        {
            if (journaled.Serve is { } serve)
                output.WriteLine(string.Join('\n', serve.Stderr().Split('\n').Where(l => l.Contains("warn") || l.Contains("fail") || l.Contains("tlog")).Take(40)));
        }
    }
}
