using System.Text.Json;
using Xunit.Abstractions;
using ZeroDisk.NbdHost.Tests.Harness;
using ZeroDisk.Testing;

namespace ZeroDisk.NbdHost.Tests.Serving;

/// <summary>
/// DESIGN §3 Failover, end to end: fio (4 jobs, verify=crc32c) writes through <c>nbdhost serve</c> while a primary
/// engine is SIGKILLed. No I/O error, every block verifies, the failure line appears exactly once on stderr, and the
/// longest I/O (the failover stall) is printed (a figure, not asserted: the machine is shared).
/// </summary>
public sealed class When_fio_verifies_while_a_primary_engine_is_killed(ITestOutputHelper output) : IAsyncLifetime
{
    private StorageHarness _h = null!;
    private ServeProcess _serve = null!;

    public async Task InitializeAsync()
    {
        _h = await StorageHarness.StartAsync(shards: 2, inProcessServer: false);
        _serve = await ServeProcess.StartAsync(_h.ServerId, _h.EtcdEndpoints);
    }

    public async Task DisposeAsync()
    {
        await _serve.DisposeAsync();
        foreach (var line in _serve.StdoutLines.Where(l => !l.StartsWith("      ", StringComparison.Ordinal) || l.Contains("Exception"))) output.WriteLine(line);
        await _h.DisposeAsync();
    }

    [Fact]
    public async Task Fio_sees_no_error_and_the_failure_is_reported_once()
    {
        var dead = _h.Clusters.Primary[0];
        var fio = ExternalProcess.RunAsync("fio",
        [
            "--name=failover", "--ioengine=nbd", $"--uri={_serve.Uri(_h.VdiskId)}", "--rw=randwrite", "--bs=4k",
            "--size=24m", "--offset_increment=24m", "--numjobs=4", "--iodepth=16", "--verify=crc32c", "--do_verify=1",
            "--verify_fatal=1", "--output-format=json",
        ], TimeSpan.FromMinutes(3));

        // Kill the engine once the write phase is well under way.
        var primary = _h.Inspect(dead);
        await StorageHarness.WaitUntilAsync(() => primary.HashLength(_h.BlocksKey) > 2000 || fio.IsCompleted, TimeSpan.FromSeconds(60), "fio to write");
        Assert.False(fio.IsCompleted, "fio finished before the engine could be killed");
        await dead.KillAsync();

        var result = await fio;
        Assert.True(result.ExitCode == 0, $"fio exited {result.ExitCode}: {result.StdErr}\n{result.StdOut}");
        using var json = JsonDocument.Parse(result.StdOut[result.StdOut.IndexOf('{')..]);
        var jobs = json.RootElement.GetProperty("jobs").EnumerateArray().ToList();
        Assert.Equal(4, jobs.Count);
        Assert.All(jobs, job => Assert.Equal(0, job.GetProperty("error").GetInt32()));
        var longestMs = jobs.Max(job => job.GetProperty("write").GetProperty("clat_ns").GetProperty("max").GetDouble()) / 1e6;
        var iops = jobs.Sum(job => job.GetProperty("write").GetProperty("iops").GetDouble());
        output.WriteLine($"fio 4 jobs QD16 4k randwrite+verify across a primary SIGKILL: longest write {longestMs:F0} ms, {iops:F0} write IOPS");
        Console.WriteLine($"FIGURE failover longest write stall {longestMs:F0} ms");

        var failureLine = $"{{\"type\": \"storageengine-failure\", \"data\": \"{dead.Address}\"}}";
        Assert.Equal([failureLine], _serve.StderrLines.Where(l => l.Contains("storageengine-failure")).ToList());
        Assert.True(await _h.Inspect(_h.Clusters.Slave[0]).SetLengthAsync(_h.DirtyKey(dead)) > 0);
    }
}
