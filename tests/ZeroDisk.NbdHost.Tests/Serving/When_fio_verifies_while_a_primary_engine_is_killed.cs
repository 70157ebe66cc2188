namespace ZeroDisk.NbdHost.Tests.Serving;

/// <summary>
/// Failover, end to end: fio (4 jobs, verify=crc32c) writes through <c>nbdhost serve</c> while a primary
/// engine is SIGKILLed. No I/O error, every block verifies, the failure line appears exactly once on stderr, and the
/// longest I/O (the failover stall) is printed (a figure, not asserted: the machine is shared).
/// </summary>
public sealed class When_fio_verifies_while_a_primary_engine_is_killed(ITestOutputHelper output) : ServeProcessTest(output)
{
    [Fact]
    public async Task Fio_sees_no_error_and_the_failure_is_reported_once()
    {
        var dead = H.Clusters.Primary[0];
        var fio = NbdClients.FioAsync(Serve.Uri(H.VdiskId),
            "--rw=randwrite", "--bs=4k", "--size=24m", "--offset_increment=24m", "--numjobs=4", "--iodepth=16",
            "--verify=crc32c", "--do_verify=1", "--verify_fatal=1");

        // Kill the engine once the write phase is well under way.
        var primary = H.Inspect(dead);
        await StorageHarness.WaitUntilAsync(() => primary.HashLength(H.BlocksKey) > 2000 || fio.IsCompleted, TimeSpan.FromSeconds(60), "fio to write");
        Assert.False(fio.IsCompleted, "fio finished before the engine could be killed");
        await dead.KillAsync();

        var report = await fio; // throws on any fio error, verify included
        var jobs = report.GetProperty("jobs").EnumerateArray().ToList();
        Assert.Equal(4, jobs.Count);
        Assert.All(jobs, job => Assert.Equal(0, job.GetProperty("error").GetInt32()));
        var longestMs = jobs.Max(job => job.GetProperty("write").GetProperty("clat_ns").GetProperty("max").GetDouble()) / 1e6;
        var iops = jobs.Sum(job => job.GetProperty("write").GetProperty("iops").GetDouble());
        Output.WriteLine($"fio 4 jobs QD16 4k randwrite+verify across a primary SIGKILL: longest write {longestMs:F0} ms, {iops:F0} write IOPS");
        Console.WriteLine($"FIGURE failover longest write stall {longestMs:F0} ms");

        var failureLine = $"{{\"type\": \"storageengine-failure\", \"data\": \"{dead.Address}\"}}";
        Assert.Equal([failureLine], Serve.StderrLines.Where(l => l.Contains("storageengine-failure")).ToList());
        Assert.True(await H.Inspect(H.Clusters.Slave[0]).SetLengthAsync(H.DirtyKey(dead)) > 0);
    }
}
