using System.Text.RegularExpressions;

namespace ZeroDisk.ClusterState.Tests.Operability;

/// <summary>
/// deploy/prometheus and deploy/grafana are code too: promtool accepts the rules and the scrape configuration, and
/// every <c>zerodisk_*</c> series or label they (and the dashboard) use is one a service defines, so a renamed gauge cannot
/// leave an alert that never fires.
/// </summary>
public sealed partial class When_the_deploy_files_are_checked
{
    private static string Deploy(params string[] parts) => Path.Combine([RepoPaths.Root, "deploy", .. parts]);

    [Fact]
    public async Task Promtool_accepts_them_and_every_series_they_use_exists()
    {
        (await ExternalProcess.RunAsync("promtool", ["check", "rules", Deploy("prometheus", "alerts.yml")])).EnsureSuccess("promtool check rules");
        (await ExternalProcess.RunAsync("promtool", ["check", "config", Deploy("prometheus", "prometheus.yml")])).EnsureSuccess("promtool check config");

        var defined = Directory.EnumerateFiles(Path.Combine(RepoPaths.Root, "services"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains("/obj/", StringComparison.Ordinal))
            .SelectMany(f => GaugeName().Matches(File.ReadAllText(f)).Select(m => m.Groups["name"].Value.Replace('.', '_')))
            .ToHashSet();
        Assert.Contains("zerodisk_engine_dirty_blocks", defined);
        foreach (var file in new[] { Deploy("prometheus", "alerts.yml"), Deploy("grafana", "zerodisk-dashboard.json") })
        {
            var used = SeriesName().Matches(File.ReadAllText(file)).Select(m => m.Value).Distinct().ToList();
            Assert.NotEmpty(used);
            Assert.All(used, name => Assert.True(defined.Contains(Instrument(name)), $"{Path.GetFileName(file)} uses {name}, which no service defines"));
        }
    }

    /// <summary>The instrument a Prometheus series comes from: without the exporter's histogram, counter and unit suffixes.</summary>
    private static string Instrument(string series) => ExporterSuffixes().Replace(series, "");

    [GeneratedRegex("(_seconds)?(_bucket|_count|_sum)$|_total$")]
    private static partial Regex ExporterSuffixes();

    [GeneratedRegex(@"""(?<name>zerodisk\.[a-z_.]+)""")]
    private static partial Regex GaugeName();

    [GeneratedRegex(@"zerodisk_[a-z_]+[a-z]")]
    private static partial Regex SeriesName();
}
