using Xunit.Abstractions;
using ZeroDisk.NbdHost.Tests.Harness;
using ZeroDisk.Testing;

namespace ZeroDisk.NbdHost.Tests.Failover;

/// <summary>
/// Both engines of one shard are killed together under fio with crc32c verify and restart from their files (new
/// run_ids). The side that failed last held every acknowledged write and fsyncs each one, and no side holds more: it
/// serves again by itself, with no etcd change, even though it restarted (the control plane keeps it online as the
/// shard's last serving side, so waiting for a repair would leave the shard without a side for good). The side that
/// failed first stays failed, its missed blocks recorded on the healed side.
/// </summary>
public sealed class When_both_twins_of_a_shard_restart(ITestOutputHelper output) : ServeProcessTest(output)
{
    // The product's command timeout: requests that meet the dead shard wait for the heal, then retry.
    protected override IReadOnlyDictionary<string, string>? ServeEnvironment => new Dictionary<string, string> { ["Storage__CommandTimeout"] = "00:00:00.800" };

    [Fact]
    public async Task The_side_that_failed_last_serves_again_and_fio_verifies_every_block()
    {
        var primary = H.Clusters.Primary[0];
        var slave = H.Clusters.Slave[0];
        var fio = NbdClients.FioAsync(Serve.Uri(H.VdiskId),
            "--rw=randwrite", "--bs=4k", "--size=16m", "--offset_increment=16m", "--numjobs=2", "--iodepth=8",
            "--verify=crc32c", "--do_verify=1", "--verify_fatal=1");
        await StorageHarness.WaitUntilAsync(() => H.Inspect(primary).HashLength(H.BlocksKey) > 300 || fio.IsCompleted, TimeSpan.FromSeconds(60), "fio to write");
        Assert.False(fio.IsCompleted, "fio finished before the engines could be killed");

        await Task.WhenAll(primary.KillAsync(), slave.KillAsync());
        await Task.WhenAll(primary.RestartAsync(), slave.RestartAsync());

        var report = await fio; // throws on any fio error (an EIO, a verify mismatch)
        Assert.All(report.GetProperty("jobs").EnumerateArray(), job => Assert.Equal(0, job.GetProperty("error").GetInt32()));
        Assert.Contains(Serve.StdoutLines, l => l.Contains("answers again after a restart") && l.Contains("serves again without a repair"));
        // Exactly one side healed; the other is still failed, with what it missed recorded on the healed side.
        var healed = Serve.StdoutLines.Single(l => l.Contains("answers again after a restart")).Contains(primary.Address) ? primary : slave;
        var stale = healed == primary ? slave : primary;
        Assert.True(await H.Inspect(healed).SetLengthAsync(H.DirtyKey(stale)) > 0, $"no dirty set for {stale.Address} on {healed.Address}");
        await QemuIoAsync("write -P 0x5c 0 64k", "read -P 0x5c 0 64k");
    }
}
