
namespace ZeroDisk.NbdHost.Tests.Failover;

/// <summary>
/// Transient double failures heal by themselves: both engines of one shard fail together under fio with crc32c
/// verify, then answer again. With the product's command timeout both are marked failed; once they answer the side
/// that failed last (the complete one) serves again by itself, with no etcd change, the requests that waited
/// meanwhile are retried, and fio verifies every block. That holds for a stall (SIGSTOP, then SIGCONT) and for a
/// restart from their files (SIGKILL, new run_ids): the side that failed last held every acknowledged write and
/// fsyncs each one, and no side holds more; the control plane keeps it online as the shard's last serving side, so
/// waiting for a repair would leave the shard without a side for good.
/// </summary>
public sealed class When_both_twins_of_a_shard_fail_together(ITestOutputHelper output) : ServeProcessTest(output)
{
    // The product's command timeout (the harness default of 2 s would outlast the stall and hide it).
    protected override IReadOnlyDictionary<string, string>? ServeEnvironment => new Dictionary<string, string> { ["Storage__CommandTimeout"] = "00:00:00.800" };

    [Fact]
    public async Task After_a_stall_the_shard_serves_again_without_an_operator_and_fio_verifies_every_block()
    {
        await UnderFioAsync(async (p, s) =>
        {
            await Task.WhenAll(p.FreezeAsync(), s.FreezeAsync());
            await Task.Delay(1500);
            await Task.WhenAll(p.ContinueAsync(), s.ContinueAsync());
        });
        Assert.Contains(Serve.StdoutLines, l => l.Contains("answers again after a stall") && l.Contains("serves again without a repair"));
    }

    [Fact]
    public async Task After_both_restart_the_side_that_failed_last_serves_again_and_fio_verifies_every_block()
    {
        var (primary, slave) = (H.Clusters.Primary[0], H.Clusters.Slave[0]);
        await UnderFioAsync(async (p, s) =>
        {
            await Task.WhenAll(p.KillAsync(), s.KillAsync());
            await Task.WhenAll(p.RestartAsync(), s.RestartAsync());
        });
        Assert.Contains(Serve.StdoutLines, l => l.Contains("answers again after a restart") && l.Contains("serves again without a repair"));
        // Exactly one side healed; the other is still failed, with what it missed recorded on the healed side.
        var healed = Serve.StdoutLines.Single(l => l.Contains("answers again after a restart")).Contains(primary.Address) ? primary : slave;
        var stale = healed == primary ? slave : primary;
        Assert.True(await H.Inspect(healed).SetLengthAsync(H.DirtyKey(stale)) > 0, $"no dirty set for {stale.Address} on {healed.Address}");
    }

    /// <summary>
    /// fio writes and verifies while <paramref name="fault"/> takes shard 0's two engines away and back; fio must see
    /// no error, both engines must have been seen failing, and the shard takes I/O afterwards.
    /// </summary>
    private async Task UnderFioAsync(Func<RedisServerProcess, RedisServerProcess, Task> fault)
    {
        var primary = H.Clusters.Primary[0];
        var slave = H.Clusters.Slave[0];
        var fio = NbdClients.FioAsync(Serve.Uri(H.VdiskId),
            "--rw=randwrite", "--bs=4k", "--size=16m", "--offset_increment=16m", "--numjobs=2", "--iodepth=8",
            "--verify=crc32c", "--do_verify=1", "--verify_fatal=1");
        await StorageHarness.WaitUntilAsync(() => H.Inspect(primary).HashLength(H.BlocksKey) > 300 || fio.IsCompleted, TimeSpan.FromSeconds(60), "fio to write");
        Assert.False(fio.IsCompleted, "fio finished before the engines could be taken away");

        await fault(primary, slave);

        var report = await fio; // throws on any fio error (an EIO, a verify mismatch)
        Assert.All(report.GetProperty("jobs").EnumerateArray(), job => Assert.Equal(0, job.GetProperty("error").GetInt32()));
        var longestMs = report.GetProperty("jobs").EnumerateArray().Max(job => job.GetProperty("write").GetProperty("clat_ns").GetProperty("max").GetDouble()) / 1e6;
        Output.WriteLine($"longest write across the double failure: {longestMs:F0} ms");
        Assert.Contains(Serve.StderrLines, l => l.Contains("storageengine-failure"));
        await QemuIoAsync("write -P 0x5c 0 64k", "read -P 0x5c 0 64k");
    }
}
