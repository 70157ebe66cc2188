using ZeroDisk.NbdHost.Ownership;
using ZeroDisk.Contracts;
using ZeroDisk.NbdHost.Supervisor;
using ZeroDisk.Testing;

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
        using var dir = new TempDirectory("zd-serve-tlog");
        await using var clusters = await RedisClusters.StartAsync(shards: 1);
        var tlogs = new List<TlogServerProcess>();
        for (var i = 0; i < 3; i++) tlogs.Add(await TlogServerProcess.StartAsync(Path.Combine(dir.Path, $"tlog{i}")));
        using var etcd = new EtcdGrpc(infra.EtcdEndpoints);
        var (vdisk, server, primary, slave, tlogCluster) = (TestNames.Unique("vd"), TestNames.Unique("nbd"), TestNames.Unique("primary"),
            TestNames.Unique("slave"), TestNames.Unique("tlog"));
        var restored = TestNames.Unique("restored");
        string[] keys = [EtcdKeys.StorageClusterConfig(primary), EtcdKeys.StorageClusterConfig(slave), EtcdKeys.TlogClusterConfig(tlogCluster),
            EtcdKeys.VdiskStaticConfig(vdisk), EtcdKeys.VdiskNbdConfig(vdisk), EtcdKeys.NbdServerVdisks(server),
            EtcdKeys.VdiskStaticConfig(restored), EtcdKeys.VdiskNbdConfig(restored)];
        NbdHostProcess? serve = null;
        try
        {
            var none = CancellationToken.None;
            await etcd.PutAsync(keys[0], new StorageClusterConfig([new StorageServerConfig(clusters.Primary[0].Address)]), 0, none);
            await etcd.PutAsync(keys[1], new StorageClusterConfig([new StorageServerConfig(clusters.Slave[0].Address)]), 0, none);
            await etcd.PutAsync(keys[2], new TlogClusterConfig(tlogs.Select(t => t.Address).ToList()), 0, none);
            await etcd.PutAsync(keys[3], new VdiskStaticConfig(4096, false, 1, "db"), 0, none);
            await etcd.PutAsync(keys[4], new VdiskNbdConfig(primary, slave, tlogCluster), 0, none);
            await etcd.PutAsync(keys[5], new NbdServerVdisksConfig([vdisk]), 0, none);

            var port = FreePort.Next();
            serve = NbdHostProcess.Start(["serve", "--id", server, "--listen", $"127.0.0.1:{port}", "--etcd", infra.EtcdEndpoints],
                dir.File("serve.log"), new Dictionary<string, string>(infra.ToEnvironment())
                {
                    // Engine failover under a loaded shared machine is not what this test is about (a 500 ms command
                    // timeout can mark both sides of the one shard failed: EIO).
                    ["Storage__CommandTimeout"] = "00:00:05",
                });
            await TlogServerProcess.WaitListeningAsync(port, () => serve.HasExited ? serve.Stderr() : null);
            // The server owns the vdisk under an epoch (invariant 5); its tlog records are keyed by it.
            var epoch = await Eventually.ValueAsync(async () => (await etcd.GetAsync<VdiskOwner>(EtcdKeys.VdiskOwner(vdisk), none))?.Value.Epoch ?? 0,
                e => e > 0, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(50));

            var image = new byte[ImageBytes];
            new Random(77).NextBytes(image);
            var input = dir.File("in.img");
            await File.WriteAllBytesAsync(input, image);
            var copy = ExternalProcess.RunAsync("nbdcopy", ["--flush", "--connections=1", "--requests=2", input, $"nbd://127.0.0.1:{port}/{vdisk}"], TimeSpan.FromMinutes(3));
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

            var replayed = await Replay.ToImageMd5Async([tlogs[0].Address, tlogs[2].Address], vdisk, dir.File("replayed.img"), ImageBytes);
            output.WriteLine($"8 MiB copied through nbdhost serve; replay from 2 of 3 tlog servers: {replayed}");
            Assert.Equal(Replay.Md5(image), replayed);

            // Replay into storage: a new vdisk on the same clusters, rebuilt through the storage write path, then
            // exported by the running server (hot add) and read back with qemu-img dd.
            await etcd.PutAsync(keys[6], new VdiskStaticConfig(4096, false, 1, "db"), 0, none);
            await etcd.PutAsync(keys[7], new VdiskNbdConfig(primary, slave), 0, none);
            var (fileName, prefix) = NbdHostProcess.Executable();
            (await ExternalProcess.RunAsync(fileName, [.. prefix, "replay", "--tlog", $"{tlogs[0].Address},{tlogs[2].Address}", "--vdisk", vdisk,
                "--to", $"storage:{restored}", "--etcd", infra.EtcdEndpoints], TimeSpan.FromMinutes(2))).EnsureSuccess("nbdhost replay into storage");
            await etcd.PutAsync(keys[5], new NbdServerVdisksConfig([vdisk, restored]), 0, none);
            var readBack = dir.File("restored.img");
            await Eventually.ValueAsync(async () => (await ExternalProcess.RunAsync("qemu-img",
                ["dd", "-f", "raw", "-O", "raw", $"if=nbd://127.0.0.1:{port}/{restored}", $"of={readBack}", "bs=1M", $"count={ImageBytes >> 20}"])).ExitCode,
                code => code == 0, TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(500));
            Assert.Equal(Replay.Md5(image), Replay.Md5(await File.ReadAllBytesAsync(readBack)));
            output.WriteLine($"replayed into the storage of {restored}: read back through nbdhost serve with the same md5");
        }
        finally
        {
            if (serve is not null)
            {
                output.WriteLine(string.Join('\n', serve.Stderr().Split('\n').Where(l => l.Contains("warn") || l.Contains("fail") || l.Contains("tlog")).Take(40)));
                await serve.DisposeAsync();
            }
            foreach (var t in tlogs) await t.DisposeAsync();
            foreach (var key in keys) await etcd.Kv.DeleteRangeAsync(new Etcdserverpb.DeleteRangeRequest { Key = Google.Protobuf.ByteString.CopyFromUtf8(key) });
        }
    }
}
