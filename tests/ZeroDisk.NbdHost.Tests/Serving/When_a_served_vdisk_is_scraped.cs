using System.Globalization;
using System.Text.RegularExpressions;

namespace ZeroDisk.NbdHost.Tests.Serving;

/// <summary>
/// An NBD server given an operations address answers /health/ready and /metrics, and the metrics say what
/// its VMs and engines see: requests, bytes and latency per export, and each engine's command latency — checked
/// after real qemu-io traffic, in the Prometheus text Prometheus itself scrapes.
/// </summary>
public sealed partial class When_a_served_vdisk_is_scraped(ITestOutputHelper output) : ServeProcessTest(output)
{
    private readonly int _operationsPort = FreePort.Next();

    protected override IReadOnlyDictionary<string, string> ServeEnvironment =>
        new Dictionary<string, string> { ["Operations__Url"] = $"http://127.0.0.1:{_operationsPort}" };

    [Fact]
    public async Task Its_metrics_count_the_vdisks_requests_and_time_each_engine()
    {
        await QemuIoAsync("write -P 0x5a 0 64k", "read -P 0x5a 0 64k");

        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_operationsPort}"), Timeout = TimeSpan.FromSeconds(10) };
        Assert.Equal(System.Net.HttpStatusCode.OK, (await http.GetAsync("/health/ready")).StatusCode);
        var metrics = "";
        await Eventually.UntilAsync(async () =>
        {
            metrics = await http.GetStringAsync("/metrics");
            return Sum(metrics, "zerodisk_nbd_bytes", "command=\"read\"") >= 65536;
        }, "the read bytes in /metrics", TimeSpan.FromSeconds(30));
        Output.WriteLine(string.Join('\n', metrics.Split('\n').Where(l => l.StartsWith("zerodisk_", StringComparison.Ordinal)).Take(60)));

        Assert.True(Sum(metrics, "zerodisk_nbd_bytes", "command=\"write\"") >= 65536, "64 KiB written counted");
        Assert.True(Sum(metrics, "zerodisk_nbd_requests", "command=\"write\"", "outcome=\"ok\"") >= 1, "write requests counted");
        Assert.True(Sum(metrics, "zerodisk_nbd_request_duration_seconds_count", "command=\"read\"") >= 1, "read latency recorded");
        foreach (var engine in H.Clusters.Primary.Concat(H.Clusters.Slave))
            Assert.True(Sum(metrics, "zerodisk_engine_command_duration_seconds_count", $"engine=\"{engine.Address}\"", "operation=\"write\"") >= 1,
                $"write latency of engine {engine.Address} recorded");
        Assert.Equal(0, Sum(metrics, "zerodisk_engine_failures"));
    }

    /// <summary>The sum of the samples of every series whose name starts with <paramref name="prefix"/> and has all <paramref name="labels"/>.</summary>
    private double Sum(string metrics, string prefix, params string[] labels) =>
        metrics.Split('\n')
            .Where(l => l.StartsWith(prefix, StringComparison.Ordinal) && l.Contains($"export=\"{H.VdiskId}\"", StringComparison.Ordinal) == l.Contains("export=", StringComparison.Ordinal))
            .Where(l => labels.All(label => l.Contains(label, StringComparison.Ordinal)))
            .Select(l => Sample().Match(l))
            .Where(m => m.Success)
            .Sum(m => double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));

    [GeneratedRegex(@"\}?\s([0-9.eE+-]+)(\s\d+)?$")]
    private static partial Regex Sample();
}
