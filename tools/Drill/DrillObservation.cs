using System.Diagnostics;
using System.Text.Json.Nodes;
using ZeroDisk.LocalStack;

namespace ZeroDisk.Drill;

/// <summary>
/// The drill's <c>--observe</c>: proof from the same drill that an operator's monitoring works. A real
/// Prometheus (Debian's) scrapes every /metrics of the stack every second with deploy/prometheus/alerts.yml (its
/// expressions as deployed, every <c>for:</c> shortened to <see cref="AlertFor"/> so a drill-length incident fires
/// them); headless Chromium keeps the drill's status page open, and a recorder in the page notes every render of the
/// failed engine (state and progress bars), so no short step is missed between two polls. From the engine's SIGKILL
/// to the end of the repair the alerts are polled through Prometheus's HTTP API; after it, both must resolve.
/// </summary>
public sealed class DrillObservation : IAsyncDisposable
{
    public const string DegradedAlert = "ZeroDiskShardDegraded";
    public const string DirtyAlert = "ZeroDiskDirtyBlocks";
    /// <summary>What every rule's <c>for:</c> becomes in the drill's copy of alerts.yml (scrapes and evaluations every second).</summary>
    public const string AlertFor = "2s";
    /// <summary>Each wait of the observation: generous, the machine may be loaded.</summary>
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(3);

    private readonly DrillStack _stack;
    private readonly DrillReport _report;
    private readonly string _engine;
    private readonly PrometheusServer _prometheus;
    private readonly HeadlessChromium _browser;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Dictionary<string, TimeSpan> _firing = [];
    private readonly HashSet<string> _screenshots = [];
    private readonly CancellationTokenSource _stop = new();
    private Task _watching = Task.CompletedTask;
    private TimeSpan _incidentAt;
    private double _maxDirty;
    private double _maxDegraded;

    private DrillObservation(DrillStack stack, DrillReport report, string engine, PrometheusServer prometheus, HeadlessChromium browser)
    {
        _stack = stack;
        _report = report;
        _engine = engine;
        _prometheus = prometheus;
        _browser = browser;
    }

    public string Screenshots => Path.Combine(_stack.Root, "status-page");

    /// <summary>Starts Prometheus on the stack's targets and Chromium on its status page; checks that every target is scraped.</summary>
    public static async Task<DrillObservation> StartAsync(DrillStack stack, DrillReport report, string engine, CancellationToken ct)
    {
        var targets = stack.MetricsTargets;
        var prometheus = await PrometheusServer.StartAsync(targets.ToDictionary(t => t.Key, t => string.Join(',', t.Value)), AlertFor, FreePort.Next());
        HeadlessChromium? browser = null;
        try
        {
            report.Progress($"Prometheus {prometheus.Url} (pid {prometheus.Pid}) scrapes {targets.Sum(t => t.Value.Count)} target(s) every second with deploy/prometheus/alerts.yml (for: {AlertFor})");
            var expected = targets.Sum(t => t.Value.Count);
            var (up, scraped) = await Eventually.PollAsync(prometheus.TargetInstancesAsync, t => t.Count == expected && t.All(x => x.Health == "up"), Deadline,
                TimeSpan.FromSeconds(1), ex => ex is HttpRequestException or TaskCanceledException, ct);
            report.Check("Prometheus scrapes every service of the stack (ClusterState, scheduler, collectors, agents, NBD servers)", up,
                scraped is null ? "no answer from Prometheus" : string.Join(", ", scraped.GroupBy(t => t.Job).Select(g =>
                    $"{g.Key} {g.Count(t => t.Health == "up")}/{g.Count()} up{string.Concat(g.Where(t => t.Health != "up").Select(t => $" ({t.Instance}: {t.Error})"))}")));

            browser = await HeadlessChromium.StartAsync();
            var observation = new DrillObservation(stack, report, engine, prometheus, browser);
            var page = $"http://127.0.0.1:{stack.AdminPort}/status/";
            await browser.NavigateAsync(page);
            var (live, _) = await Eventually.PollAsync(async () => (await browser.EvaluateAsync(observation.RecorderScript))?.GetValue<bool>() == true,
                ok => ok, Deadline, TimeSpan.FromMilliseconds(500), ex => ex is InvalidOperationException, ct);
            report.Progress(live
                ? $"headless Chromium (pid {browser.Pid}) keeps {page} open; screenshots go to {observation.Screenshots}"
                : $"headless Chromium did not see {engine} online on {page} (its checks will fail)");
            return observation;
        }
        catch
        {
            if (browser is not null) await browser.DisposeAsync();
            await prometheus.DisposeAsync();
            throw;
        }
    }

    /// <summary>From now on (the engine is about to be SIGKILLed) the alerts and the page are watched until <see cref="CheckAsync"/>.</summary>
    public void IncidentStarts()
    {
        _incidentAt = _clock.Elapsed;
        _watching = WatchAsync(_stop.Token);
    }

    /// <summary>After the repair (the engine online again): the alerts fired and resolve, the page showed the whole incident.</summary>
    public async Task CheckAsync(CancellationToken ct)
    {
        var repairedAt = _clock.Elapsed;
        // What the page recorded: the engine online again after a repair state.
        var (shown, seen) = await Eventually.PollAsync(PageHistoryAsync, h => ShowsWholeIncident(h), Deadline, TimeSpan.FromSeconds(1),
            ex => ex is InvalidOperationException or TimeoutException, ct);
        await _stop.CancelAsync();
        await _watching;
        await ScreenshotAsync("3-online"); // after the watch: one DevTools screenshot at a time

        var fired = _firing.ContainsKey(DegradedAlert) && _firing.ContainsKey(DirtyAlert);
        _report.Check("Prometheus: the dirty-blocks and degraded-shard alerts fired during the incident", fired,
            $"{Fired(DegradedAlert)} (max {_maxDegraded} degraded shard(s)); {Fired(DirtyAlert)} for {_engine} (max {_maxDirty} dirty block(s))");
        var (resolved, left) = await Eventually.PollAsync(OursAsync, a => a.Count == 0, Deadline, TimeSpan.FromSeconds(1),
            ex => ex is HttpRequestException or TaskCanceledException, ct);
        _report.Check("Prometheus: both alerts resolved after the repair", fired && resolved,
            !fired ? "not both fired: nothing to resolve" : resolved ? $"none pending or firing {(_clock.Elapsed - repairedAt).TotalSeconds:0.0} s after the engine was online again"
                : $"still: {string.Join(", ", (left ?? []).Select(a => $"{a.Name} {a.State}"))}");

        var history = seen ?? [];
        var states = history.Select(h => h.State).Where(s => s is not null).Aggregate(new List<string>(), (l, s) => { if (l.Count == 0 || l[^1] != s) l.Add(s!); return l; });
        var repairing = history.Where(h => h.State?.StartsWith("repair", StringComparison.Ordinal) == true).ToList();
        var percents = repairing.Select(h => h.Percent).OfType<double>().Distinct().ToList();
        var blocks = repairing.Where(h => h.Blocks is not null).Select(h => $"{h.Blocks}/{h.Total}").Distinct().ToList();
        var moved = percents.Count >= 2 || blocks.Count >= 2;
        _report.Check("status page (headless Chromium): offline -> repairing with a moving progress bar -> online", shown && moved,
            $"states {string.Join(" -> ", states)}; vdisk bar {string.Join(" -> ", percents.Select(p => $"{p:0.#}%"))}; block bar (done/total) "
            + $"{(blocks.Count == 0 ? "none" : string.Join(" -> ", blocks))}; screenshots in {Screenshots} ({string.Join(", ", _screenshots.Order())})");
    }

    private string Fired(string alert) => _firing.TryGetValue(alert, out var at)
        ? $"{alert} firing {(at - _incidentAt).TotalSeconds:0.0} s after the SIGKILL"
        : $"{alert} never firing";

    /// <summary>Polls the alerts and the page once a second; the page's own recorder keeps every render in between.</summary>
    private async Task WatchAsync(CancellationToken ct)
    {
        var dirty = $"max(zerodisk_engine_dirty_blocks{{engine=\"{_engine}\"}})";
        var degraded = $"max(zerodisk_shards_degraded{{primary_cluster=\"{_stack.PrimaryCluster}\"}})";
        while (!ct.IsCancellationRequested)
        {
            try
            {
                foreach (var alert in await OursAsync())
                    if (alert.State == "firing") _firing.TryAdd(alert.Name, _clock.Elapsed);
                _maxDirty = Math.Max(_maxDirty, (await _prometheus.QueryAsync(dirty)).Select(s => s.Value).DefaultIfEmpty(0).Max());
                _maxDegraded = Math.Max(_maxDegraded, (await _prometheus.QueryAsync(degraded)).Select(s => s.Value).DefaultIfEmpty(0).Max());
                var state = (await PageHistoryAsync()).LastOrDefault()?.State;
                if (state == "offline") await ScreenshotAsync("1-offline");
                else if (state?.StartsWith("repair", StringComparison.Ordinal) == true) await ScreenshotAsync("2-repairing");
                await Task.Delay(TimeSpan.FromSeconds(1), ct);
            }
            catch (Exception ex) when (ex is HttpRequestException or InvalidOperationException or TimeoutException or TaskCanceledException)
            {
                if (ct.IsCancellationRequested) return;
                // a slow answer on a loaded machine: the next round tries again
            }
        }
    }

    /// <summary>The drill's two alerts for its own failed engine and shard, pending or firing.</summary>
    private async Task<IReadOnlyList<(string Name, string State)>> OursAsync() =>
        (await _prometheus.AlertsAsync())
        .Where(a => (a.Name == DirtyAlert && a.Labels.GetValueOrDefault("engine") == _engine)
                    || (a.Name == DegradedAlert && a.Labels.GetValueOrDefault("primary_cluster") == _stack.PrimaryCluster))
        .Select(a => (a.Name, a.State)).ToList();

    private async Task ScreenshotAsync(string name)
    {
        if (!_screenshots.Add(name)) return;
        try { await _browser.ScreenshotAsync(Path.Combine(Screenshots, name + ".png")); }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException) { _screenshots.Remove(name); }
    }

    private static bool ShowsWholeIncident(IReadOnlyList<PageRender> history)
    {
        var offline = history.ToList().FindIndex(h => h.State == "offline");
        var repair = history.ToList().FindIndex(offline < 0 ? 0 : offline, h => h.State?.StartsWith("repair", StringComparison.Ordinal) == true);
        return offline >= 0 && repair > offline && history.Skip(repair).Any(h => h.State == "online");
    }

    /// <summary>One render of the failed engine, as the page's recorder noted it.</summary>
    private sealed record PageRender(string? State, double? Percent, double? Blocks, double? Total);

    private async Task<IReadOnlyList<PageRender>> PageHistoryAsync()
    {
        var renders = (await _browser.EvaluateAsync("JSON.stringify(window.zdDrill || [])"))?.GetValue<string>() ?? "[]";
        return JsonNode.Parse(renders)!.AsArray().Select(r => new PageRender((string?)r!["state"], (double?)r["percent"], (double?)r["blocks"], (double?)r["total"])).ToList();
    }

    /// <summary>
    /// Installs (once) a recorder in the page: on every DOM change it notes the engine's state and its repair's two
    /// progress bars (vdisks, blocks) when they changed. Answers whether the page shows the engine online on a live feed.
    /// </summary>
    private string RecorderScript => $$"""
        (() => {
          const engine = {{System.Text.Json.JsonSerializer.Serialize(_engine)}};
          const cell = () => document.querySelector(`.engine[data-engine="${engine}"]`);
          if (!window.zdDrill && cell()) {
            const seen = window.zdDrill = [];
            const value = bar => bar ? Number(bar.getAttribute('aria-valuenow')) : null;
            const note = () => {
              const repair = document.querySelector(`.repair[data-engine="${engine}"]`);
              const blocks = repair?.querySelector('.bar.blocks');
              const now = { state: cell()?.dataset.state ?? null, percent: value(repair?.querySelector('.bar:not(.blocks)')),
                            blocks: value(blocks), total: blocks ? Number(blocks.getAttribute('aria-valuemax')) : null };
              const last = seen[seen.length - 1];
              if (!last || last.state !== now.state || last.percent !== now.percent || last.blocks !== now.blocks) seen.push(now);
            };
            new MutationObserver(note).observe(document.body, { subtree: true, childList: true, attributes: true });
            note();
          }
          return !!window.zdDrill && document.querySelector('#feed')?.dataset.feed === 'live' && cell()?.dataset.state === 'online';
        })()
        """;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _watching;
        await _browser.DisposeAsync();
        await _prometheus.DisposeAsync();
        _stop.Dispose();
    }
}
