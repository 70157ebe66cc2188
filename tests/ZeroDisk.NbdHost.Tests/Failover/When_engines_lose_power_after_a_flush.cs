using System.Security.Cryptography;

namespace ZeroDisk.NbdHost.Tests.Failover;

/// <summary>
/// An NBD FLUSH means every write completed before it survives the engines' hosts losing power,
/// with or without a tlog. The engines acknowledge a write only once it is fsynced (appendfsync always), and the NBD
/// server refuses an engine that runs without it, so a FLUSH needs to wait for nothing more.
/// </summary>
public sealed class When_engines_lose_power_after_a_flush(ITestOutputHelper output) : ServeProcessTest(output)
{
    [Fact]
    public async Task Every_write_completed_before_the_flush_reads_back_from_the_engines_own_files()
    {
        await QemuIoAsync("write -P 0x61 0 4M", "write -P 0x62 4M 3M", "write -z 7M 1M", "flush");
        // SIGKILL every engine of both clusters at once, right after the FLUSH, and start them from their own files.
        var engines = H.Clusters.Primary.Concat(H.Clusters.Slave).ToList();
        await Task.WhenAll(engines.Select(e => e.KillAsync()));
        await Task.WhenAll(engines.Select(e => e.RestartAsync()));

        var expected = new byte[8 << 20];
        expected.AsSpan(0, 4 << 20).Fill(0x61);
        expected.AsSpan(4 << 20, 3 << 20).Fill(0x62);
        var md5 = Convert.ToHexString(MD5.HashData(expected));
        var blocks = expected.Length / H.BlockSize;
        // Each side alone holds every write (a write is acknowledged only once both have it, or the other is dirty).
        Assert.Equal(md5, await H.SideMd5Async(ClusterSide.Primary, blocks));
        Assert.Equal(md5, await H.SideMd5Async(ClusterSide.Slave, blocks));

        // And a fresh server reads it back.
        await Serve.KillAsync();
        Serve = await StartServeAsync();
        await Serve.WaitForExportAsync(H.VdiskId, TimeSpan.FromSeconds(60));
        await QemuIoAsync("read -P 0x61 0 4M", "read -P 0x62 4M 3M", "read -P 0 7M 1M");
    }

    [Fact]
    public async Task An_engine_without_appendfsync_always_is_refused_and_reported()
    {
        var lax = H.Clusters.Primary[0];
        await Serve.KillAsync();
        (await ExternalProcess.RunAsync("redis-cli", ["-p", lax.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "config", "set", "appendfsync", "everysec"]))
            .EnsureSuccess("redis-cli config set");
        Serve = await StartServeAsync();
        await Serve.WaitForExportAsync(H.VdiskId, TimeSpan.FromSeconds(60));
        await Serve.WaitForStderrAsync($"{{\"type\": \"storageengine-failure\", \"data\": \"{lax.Address}\"}}", TimeSpan.FromSeconds(30));
        Assert.Contains(Serve.StdoutLines, l => l.Contains("not durable: appendfsync is 'everysec', must be 'always'"));

        // Served by its twin; the lax engine gets nothing, the twin keeps what it missed as dirty.
        await QemuIoAsync("write -P 0x71 0 1M", "flush", "read -P 0x71 0 1M");
        Assert.Equal(0, await H.Inspect(lax).HashLengthAsync(H.BlocksKey));
        Assert.Equal(128, await H.Inspect(H.Clusters.Slave[0]).SetLengthAsync(H.DirtyKey(lax)));
    }
}
