using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace ZeroDisk.LocalStack;

/// <summary>
/// A real Prometheus (Debian's <c>prometheus</c>) scraping the given targets every second with the project's own alert
/// rules (deploy/prometheus/alerts.yml, with every <c>for:</c> shortened so a test sees an alert fire in seconds),
/// its data in a temporary directory; asked through its HTTP API. It listens on the port given, else on the first
/// free port of <c>ZD_PROMETHEUS_PORTS</c> (a range "first-last", default 36310-36319). Shared by the tests and the
/// drill's <c>--observe</c> (tools/Drill), hence here in LocalStack.
/// </summary>
public sealed partial class PrometheusServer : IAsyncDisposable
{
    private readonly BackgroundProcess _process;
    private readonly string _directory;
    private readonly HttpClient _http;

    private PrometheusServer(BackgroundProcess process, string directory, Uri url)
    {
        _process = process;
        _directory = directory;
        Url = url;
        _http = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(10) };
    }

    public Uri Url { get; }

    public int Pid => _process.Process.Id;

    public static string AlertRules => Path.Combine(RepoPaths.Root, "deploy", "prometheus", "alerts.yml");

    /// <param name="targets">Job name → host:port of its /metrics (several targets of one job separated by commas).</param>
    /// <param name="forDuration">What every alert rule's <c>for:</c> becomes (the rules' expressions stay as deployed).</param>
    /// <param name="port">Where Prometheus listens; by default the first free port of <c>ZD_PROMETHEUS_PORTS</c>.</param>
    public static async Task<PrometheusServer> StartAsync(IReadOnlyDictionary<string, string> targets, string forDuration = "1s", int? port = null)
    {
        var directory = Directory.CreateTempSubdirectory("zd-prometheus-").FullName;
        File.WriteAllText(Path.Combine(directory, "alerts.yml"), ForClause().Replace(File.ReadAllText(AlertRules), $"${{indent}}for: {forDuration}"));
        var jobs = string.Concat(targets.Select(t =>
            $"  - job_name: {t.Key}\n    static_configs: [{{targets: [{string.Join(", ", t.Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(x => $"\"{x}\""))}]}}]\n"));
        File.WriteAllText(Path.Combine(directory, "prometheus.yml"),
            $"global: {{scrape_interval: 1s, evaluation_interval: 1s, scrape_timeout: 900ms}}\nrule_files: [alerts.yml]\nscrape_configs:\n{jobs}");
        port ??= PortFromRange();
        var url = new Uri($"http://127.0.0.1:{port}/");
        var process = BackgroundProcess.Start("prometheus",
        [
            $"--config.file={Path.Combine(directory, "prometheus.yml")}", $"--storage.tsdb.path={Path.Combine(directory, "data")}",
            $"--web.listen-address=127.0.0.1:{port}", "--log.level=warn",
        ]);
        var server = new PrometheusServer(process, directory, url);
        try
        {
            await Eventually.UntilAsync(async () =>
            {
                if (process.Process.HasExited) throw new InvalidOperationException($"prometheus exited {process.Process.ExitCode}: {process.StdErr}");
                try { return (await server._http.GetAsync("-/ready")).IsSuccessStatusCode; }
                catch (HttpRequestException) { return false; }
            }, $"prometheus answers on {url}", TimeSpan.FromSeconds(60));
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
        return server;
    }

    /// <summary>The active targets: job → health ("up", "down", "unknown") and last error.</summary>
    public async Task<IReadOnlyList<(string Job, string Health, string Error)>> TargetsAsync() =>
        (await TargetInstancesAsync()).Select(t => (t.Job, t.Health, t.Error)).ToList();

    /// <summary>The active targets with their instance (host:port): job, instance, health and last error.</summary>
    public async Task<IReadOnlyList<(string Job, string Instance, string Health, string Error)>> TargetInstancesAsync()
    {
        var data = await DataAsync("api/v1/targets?state=active");
        return data.GetProperty("activeTargets").EnumerateArray()
            .Select(t => (t.GetProperty("labels").GetProperty("job").GetString() ?? "", t.GetProperty("labels").GetProperty("instance").GetString() ?? "",
                t.GetProperty("health").GetString() ?? "", t.GetProperty("lastError").GetString() ?? ""))
            .ToList();
    }

    /// <summary>The alerts Prometheus holds (pending or firing): name, state and labels.</summary>
    public async Task<IReadOnlyList<(string Name, string State, IReadOnlyDictionary<string, string> Labels)>> AlertsAsync()
    {
        var data = await DataAsync("api/v1/alerts");
        return data.GetProperty("alerts").EnumerateArray().Select(a =>
        {
            var labels = a.GetProperty("labels").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? "");
            return (labels.GetValueOrDefault("alertname", ""), a.GetProperty("state").GetString() ?? "", (IReadOnlyDictionary<string, string>)labels);
        }).ToList();
    }

    /// <summary>An instant query: each series' labels and value.</summary>
    public async Task<IReadOnlyList<(IReadOnlyDictionary<string, string> Labels, double Value)>> QueryAsync(string promql)
    {
        var data = await DataAsync($"api/v1/query?query={Uri.EscapeDataString(promql)}");
        return data.GetProperty("result").EnumerateArray().Select(r =>
        {
            var labels = r.GetProperty("metric").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? "");
            var value = double.Parse(r.GetProperty("value")[1].GetString()!, System.Globalization.CultureInfo.InvariantCulture);
            return ((IReadOnlyDictionary<string, string>)labels, value);
        }).ToList();
    }

    private async Task<JsonElement> DataAsync(string path)
    {
        var body = await _http.GetFromJsonAsync<JsonElement>(path);
        if (body.GetProperty("status").GetString() != "success") throw new InvalidOperationException($"prometheus {path}: {body}");
        return body.GetProperty("data").Clone();
    }

    private static int PortFromRange()
    {
        var range = Environment.GetEnvironmentVariable("ZD_PROMETHEUS_PORTS") is { Length: > 0 } r ? r : "36310-36319";
        var bounds = range.Split('-');
        int first = int.Parse(bounds[0]), last = int.Parse(bounds[^1]);
        for (var port = first; port <= last; port++)
        {
            try
            {
                using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, port);
                listener.Start();
                return port;
            }
            catch (System.Net.Sockets.SocketException)
            {
                // taken: try the next one
            }
        }
        throw new InvalidOperationException($"no free port in ZD_PROMETHEUS_PORTS {range}");
    }

    [GeneratedRegex(@"(?<indent>^\s+)for:\s*\S+", RegexOptions.Multiline)]
    private static partial Regex ForClause();

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await _process.DisposeAsync();
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { /* prometheus may still hold a file: the OS cleans /tmp */ }
    }
}
