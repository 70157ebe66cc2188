using System.Globalization;

namespace ZeroDisk.NbdHost.Tests.Failover;

/// <summary>
/// Transient double failures heal by themselves: both engines of one shard stop for 1.5 s (SIGSTOP, then SIGCONT) under fio with
/// crc32c verify. With the product's command timeout both are marked failed; once they answer again the side that
/// failed last (the complete one) serves again by itself, with no etcd change, the requests that waited meanwhile
/// are retried, and fio verifies every block.
/// </summary>
public sealed class When_both_twins_of_a_shard_stall(ITestOutputHelper output) : ServeProcessTest(output)
{
    // The product's command timeout (the harness default of 2 s would outlast the stall and hide it).
    protected override IReadOnlyDictionary<string, string>? ServeEnvironment => new Dictionary<string, string> { ["Storage__CommandTimeout"] = "00:00:00.800" };

    [Fact]
    public async Task The_shard_serves_again_without_an_operator_and_fio_verifies_every_block()
    {
        var primary = H.Clusters.Primary[0];
        var slave = H.Clusters.Slave[0];
        var fio = NbdClients.FioAsync(Serve.Uri(H.VdiskId),
            "--rw=randwrite", "--bs=4k", "--size=16m", "--offset_increment=16m", "--numjobs=2", "--iodepth=8",
            "--verify=crc32c", "--do_verify=1", "--verify_fatal=1");
        await StorageHarness.WaitUntilAsync(() => H.Inspect(primary).HashLength(H.BlocksKey) > 300 || fio.IsCompleted, TimeSpan.FromSeconds(60), "fio to write");
        Assert.False(fio.IsCompleted, "fio finished before the engines could be stopped");

        await Task.WhenAll(Signal("STOP", primary), Signal("STOP", slave));
        await Task.Delay(1500);
        await Task.WhenAll(Signal("CONT", primary), Signal("CONT", slave));

        var report = await fio; // throws on any fio error (an EIO, a verify mismatch)
        Assert.All(report.GetProperty("jobs").EnumerateArray(), job => Assert.Equal(0, job.GetProperty("error").GetInt32()));
        var longestMs = report.GetProperty("jobs").EnumerateArray().Max(job => job.GetProperty("write").GetProperty("clat_ns").GetProperty("max").GetDouble()) / 1e6;
        Output.WriteLine($"longest write across the double stall: {longestMs:F0} ms");

        // Both were seen failing (the stall outlasted the command timeout), and one healed without any etcd change.
        Assert.Contains(Serve.StdoutLines, l => l.Contains("serves again without a repair"));
        Assert.Contains(Serve.StderrLines, l => l.Contains("storageengine-failure"));
        // The shard still takes I/O, from the healed side.
        await QemuIoAsync("write -P 0x5c 0 64k", "read -P 0x5c 0 64k");
    }

    private static async Task Signal(string signal, RedisServerProcess engine) =>
        (await ExternalProcess.RunAsync("kill", [$"-{signal}", engine.Pid!.Value.ToString(CultureInfo.InvariantCulture)])).EnsureSuccess($"kill -{signal}");
}
