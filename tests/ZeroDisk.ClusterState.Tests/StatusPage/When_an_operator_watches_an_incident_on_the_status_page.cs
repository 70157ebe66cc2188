using System.Text.Json.Nodes;
using Xunit.Abstractions;
using ZeroDisk.ClusterState.Tests.Scheduler;

namespace ZeroDisk.ClusterState.Tests.StatusPage;

/// <summary>
/// Headless Chromium keeps ClusterState's status page open during a real incident — the failure line and
/// the repair completions travel as real event lines through the real LogCollector, the real RepairScheduler
/// classifies, dispatches and verifies, only the node agent's copying is played — and sees the engine go offline,
/// repairing with a progress bar that moves as vdisks complete, and online, all in one page load (server-sent events).
/// Screenshots are kept in run/test-results/status-page/.
/// </summary>
[Collection(SchedulerScenarios.Name)]
public sealed class When_an_operator_watches_an_incident_on_the_status_page(ITestOutputHelper output)
{
    private static readonly TimeSpan Step = TimeSpan.FromSeconds(60);
    private static readonly string Screenshots = Path.Combine(RepoPaths.Root, "run", "test-results", "status-page");

    [Fact]
    public async Task The_page_shows_offline_then_repairing_with_a_moving_progress_bar_then_online_without_reloading()
    {
        // The grace period keeps the engine offline long enough for the page to show it on a loaded machine.
        await using var scenario = await SchedulerScenario.StartAsync(schedulerSettings: new() { ["GracePeriod"] = "00:00:10" });
        var vd2 = await scenario.Deployment.SeedVdiskAsync("vd2", scenario.PrimaryCluster, scenario.SlaveCluster);
        await using var node = new NodeLogStream(scenario.Deployment, "nbd-page");
        await node.StartCollectorAsync();
        await using var browser = await HeadlessChromium.StartAsync();
        var engine = scenario.Primary[0].Address;
        var page = new StatusPageView(browser, engine);
        try
        {
            await browser.NavigateAsync(new Uri(scenario.Deployment.Instances[0].Url, "/status/").ToString());
            await page.UntilAsync("the engine online in the grid", v => v.State == "online" && v.Feed == "live");
            await browser.EvaluateAsync("window.zdLoadedOnce = true");

            await node.WriteAsync(new StorageEngineFailureLine(engine));
            await page.UntilAsync("the engine offline", v => v.State == "offline" && v.Verdict == "degraded");
            await browser.ScreenshotAsync(Path.Combine(Screenshots, "1-offline.png"));

            var repairing = await page.UntilAsync("the engine repairing with an empty bar", v => v is { State: "repair-tmp-outage", Affected: 2, Percent: 0 });
            Assert.Equal("0 of 2", repairing.Done);
            var first = await scenario.JobAsync(1, Step);
            await node.WriteAsync(new RepairCompleteLine(RepairKind.Tmp, engine, first.VdiskId));
            var half = await page.UntilAsync("the bar at half", v => v is { State: "repair-tmp-outage", Percent: 50 });
            Assert.Equal("1 of 2", half.Done);
            Assert.NotNull(half.Eta);
            await browser.ScreenshotAsync(Path.Combine(Screenshots, "2-repairing.png"));

            var second = await scenario.JobAsync(2, Step);
            Assert.Equal(new[] { scenario.Vdisk, vd2 }.Order(), new[] { first.VdiskId, second.VdiskId }.Order());
            await node.WriteAsync(new RepairCompleteLine(RepairKind.Tmp, engine, second.VdiskId));
            var online = await page.UntilAsync("the engine online again, the repair gone", v => v is { State: "online", Percent: null, Verdict: "healthy" });
            await browser.ScreenshotAsync(Path.Combine(Screenshots, "3-online.png"));

            // The incident, closed, with its timeline and the trace that opened it.
            var incident = await scenario.IncidentAsync(scenario.Primary[0]);
            var saga = await scenario.Deployment.EngineSagaAsync(engine);
            Assert.Equal(incident, online.Incident);
            Assert.Equal(saga!.IncidentTraceId, online.Trace);
            Assert.Matches("^[0-9a-f]{32}$", online.Trace);
            Assert.Equal(["offline", "repair-tmp-outage", "online"], online.Timeline);
            Assert.True((await browser.EvaluateAsync("window.zdLoadedOnce === true"))!.GetValue<bool>(), "the page was reloaded: it must update itself");
            output.WriteLine($"screenshots in {Screenshots}; states seen: {string.Join(" -> ", page.Seen)}");
        }
        catch
        {
            output.WriteLine($"states seen: {string.Join(" -> ", page.Seen)}");
            await browser.ScreenshotAsync(Path.Combine(Screenshots, "failed.png"));
            output.WriteLine($"page: {await browser.EvaluateAsync("document.body?.innerText ?? ''")}");
            throw;
        }
    }

    /// <summary>What the page shows about one engine, read from its DOM.</summary>
    private sealed record EngineOnPage(string? State, string? Verdict, string? Feed, double? Percent, int? Affected, string? Done, string? Eta,
        string? Incident, string? Trace, IReadOnlyList<string> Timeline);

    private sealed class StatusPageView(HeadlessChromium browser, string engine)
    {
        public List<string> Seen { get; } = [];

        private string Script => $$"""
            (() => {
              const q = s => document.querySelector(s);
              const cell = q('.engine[data-engine="{{engine}}"]');
              const bar = q('.repair[data-engine="{{engine}}"] [role=progressbar]');
              const text = q('.repair[data-engine="{{engine}}"]')?.innerText ?? '';
              const incident = q('.incident[data-engine="{{engine}}"]');
              return {
                state: cell?.dataset.state ?? null, verdict: q('#verdict')?.dataset.verdict ?? null, feed: q('#feed')?.dataset.feed ?? null,
                percent: bar ? Number(bar.getAttribute('aria-valuenow')) : null, affected: bar ? Number(bar.dataset.affected) : null,
                done: (text.match(/(\d+ of \d+)/) || [null, null])[1], eta: (text.match(/ETA (\d[^·\n]*)/) || [null, null])[1],
                incident: incident?.dataset.incident ?? null, trace: (incident?.querySelector('summary .trace')?.textContent.match(/[0-9a-f]{32}/) || [null])[0],
                timeline: incident ? [...incident.querySelectorAll('.timeline li strong')].map(s => s.textContent) : [],
              };
            })()
            """;

        public async Task<EngineOnPage> UntilAsync(string what, Func<EngineOnPage, bool> shows)
        {
            EngineOnPage? last = null;
            try
            {
                return await Eventually.ValueAsync(async () => last = Read(await browser.EvaluateAsync(Script)), shows, Step, TimeSpan.FromMilliseconds(200));
            }
            catch (TimeoutException)
            {
                throw new TimeoutException($"the page did not show {what} within {Step}; last: {last}");
            }
        }

        private EngineOnPage Read(JsonNode? v)
        {
            var view = new EngineOnPage((string?)v?["state"], (string?)v?["verdict"], (string?)v?["feed"], (double?)v?["percent"], (int?)v?["affected"],
                (string?)v?["done"], (string?)v?["eta"], (string?)v?["incident"], (string?)v?["trace"],
                v?["timeline"]?.AsArray().Select(t => (string)t!).ToList() ?? []);
            if (view.State is { } state && (Seen.Count == 0 || Seen[^1] != state)) Seen.Add(state);
            return view;
        }
    }
}
