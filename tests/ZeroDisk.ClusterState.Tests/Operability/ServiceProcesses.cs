using System.Net;
using System.Text.Json;

namespace ZeroDisk.ClusterState.Tests.Operability;

/// <summary>The built services as real processes for the operability scenarios, and their health endpoints.</summary>
internal static class ServiceProcesses
{
    private static string Configuration => AppContext.BaseDirectory.Contains("/bin/Debug/", StringComparison.Ordinal) ? "Debug" : "Release";

    public static string Dll(string project, string assembly)
    {
        var dll = Path.Combine(RepoPaths.Root, "services", project, "bin", Configuration, "net10.0", $"{assembly}.dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException($"build services/{project} first", dll);
    }

    /// <summary>A node's collector tailing an empty temporary directory, its operations endpoint on <paramref name="operationsPort"/>.</summary>
    public static BackgroundProcess StartCollector(string rabbitMq, int operationsPort, string node)
    {
        var directory = Directory.CreateTempSubdirectory("zd-collector-").FullName;
        return BackgroundProcess.Start("dotnet", [Dll("LogCollector", "logcollector")], new Dictionary<string, string>
        {
            ["RABBITMQ_URI"] = rabbitMq,
            ["LogCollector__Node"] = node,
            ["LogCollector__Directory"] = directory,
            ["Operations__Url"] = $"http://127.0.0.1:{operationsPort}",
            ["Logging__LogLevel__Default"] = "Information",
        });
    }

    /// <summary>GET an endpoint: status code and the JSON body (default when not JSON), or null when nothing answers.</summary>
    public static async Task<(HttpStatusCode Status, JsonElement Body, string Text)?> GetAsync(string url)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        try
        {
            using var response = await http.GetAsync(url);
            var text = await response.Content.ReadAsStringAsync();
            JsonElement body = default;
            try { body = JsonDocument.Parse(text).RootElement.Clone(); } catch (JsonException) { /* not JSON */ }
            return (response.StatusCode, body, text);
        }
        catch (HttpRequestException)
        {
            return null;
        }
        catch (TaskCanceledException)
        {
            return null;
        }
    }

    /// <summary>Waits until <c>/health/live</c> answers 200 and <c>/health/ready</c> answers <paramref name="ready"/>; returns the ready body.</summary>
    public static async Task<JsonElement> WaitForHealthAsync(string baseUrl, HttpStatusCode ready, string what, BackgroundProcess? process = null)
    {
        JsonElement body = default;
        var last = "";
        try
        {
            await Eventually.UntilAsync(async () =>
            {
                if (process is { Process.HasExited: true }) throw new InvalidOperationException($"{what} exited {process.Process.ExitCode}: {process.StdOut}{process.StdErr}");
                var live = await GetAsync($"{baseUrl}/health/live");
                var answer = await GetAsync($"{baseUrl}/health/ready");
                last = $"live {live?.Status}, ready {answer?.Status}: {answer?.Text}";
                if (live?.Status != HttpStatusCode.OK || answer?.Status != ready) return false;
                body = answer.Value.Body;
                return true;
            }, $"{what}: /health/live 200 and /health/ready {(int)ready}", TimeSpan.FromSeconds(90));
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"{ex.Message}; last: {last}; output: {process?.StdOut}{process?.StdErr}", ex);
        }
        return body;
    }

    /// <summary>The named check of a health answer.</summary>
    public static JsonElement Check(JsonElement health, string name) =>
        health.GetProperty("checks").EnumerateArray().FirstOrDefault(c => c.GetProperty("name").GetString() == name) is { ValueKind: JsonValueKind.Object } check
            ? check
            : throw new Xunit.Sdk.XunitException($"no check '{name}' in {health}");
}
