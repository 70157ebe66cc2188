using System.Text.RegularExpressions;
using Xunit.Abstractions;
using ZeroDisk.LocalStack;

namespace ZeroDisk.EndToEnd.Tests;

/// <summary>
/// Monitoring proven on the real stack: the drill with <c>--observe</c> (a temporary primary outage under fio)
/// starts a real Prometheus scraping every service of its stack with deploy/prometheus/alerts.yml and headless
/// Chromium on its status page. The dirty-blocks and degraded-shard alerts must fire during the incident and resolve
/// after it (Prometheus's HTTP API), and the page must show the engine offline, repairing with a moving progress bar,
/// and online again (DOM, recorded in the page). The drill's log and screenshots are kept in run/test-results/drill-observe/.
/// </summary>
public class When_prometheus_and_a_browser_watch_a_drill(ITestOutputHelper output)
{
    private static readonly string Kept = Path.Combine(RepoPaths.Root, "run", "test-results", "drill-observe");

    [Fact]
    public async Task The_alerts_fire_and_resolve_and_the_status_page_shows_offline_repairing_online()
    {
        var drill = await DrillRunner.RunAsync("--outage", "tmp", "--side", "primary", "--load-seconds", "20", "--observe");
        // The drill's console wraps long lines (at spaces): read its log as one text.
        var log = Regex.Replace(drill.StdOut, @" *\r?\n *", " ");
        Keep(log, drill.StdOut);
        foreach (var line in Regex.Matches(log, @"\d\d:\d\d\.\d (?:PASS|FAIL) (?:Prometheus|status page)[^\n]*?(?= \d\d:\d\d\.\d |$)").Select(m => m.Value))
            output.WriteLine(line);
        Assert.True(drill.ExitCode == 0, drill.StdOut + drill.StdErr);
        Assert.Contains("Drill passed: every check held.", drill.StdOut);
        foreach (var check in new[]
                 {
                     "PASS Prometheus scrapes every service of the stack", "PASS Prometheus: the dirty-blocks and degraded-shard alerts fired during the incident",
                     "PASS Prometheus: both alerts resolved after the repair", "PASS status page (headless Chromium): offline -> repairing with a moving progress bar -> online",
                 })
            Assert.Contains(check, log);
    }

    /// <summary>The drill's log, and its screenshots from its log directory (named in the page's check), beside the test results.</summary>
    private void Keep(string log, string stdout)
    {
        Directory.CreateDirectory(Kept);
        File.WriteAllText(Path.Combine(Kept, "drill.log"), stdout);
        if (Regex.Match(log, @"screenshots in (\S+) \(") is not { Success: true } named || !Directory.Exists(named.Groups[1].Value)) return;
        foreach (var shot in Directory.EnumerateFiles(named.Groups[1].Value, "*.png"))
            File.Copy(shot, Path.Combine(Kept, Path.GetFileName(shot)), overwrite: true);
        output.WriteLine($"status page screenshots kept in {Kept}");
    }
}
