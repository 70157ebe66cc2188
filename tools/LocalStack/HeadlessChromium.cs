using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ZeroDisk.LocalStack;

/// <summary>
/// Debian's <c>chromium</c>, headless, driven over the Chrome DevTools protocol: one page that stays open (so what it
/// shows comes from its own live updates, not from reloads), JavaScript evaluated in it, screenshots.
/// </summary>
public sealed class HeadlessChromium : IAsyncDisposable
{
    private readonly BackgroundProcess _process;
    private readonly string _profile;
    private readonly ClientWebSocket _socket = new();
    private readonly ConcurrentDictionary<int, TaskCompletionSource<JsonNode>> _pending = new();
    private readonly CancellationTokenSource _stop = new();
    private Task _receiving = Task.CompletedTask;
    private int _nextId;

    private HeadlessChromium(BackgroundProcess process, string profile)
    {
        _process = process;
        _profile = profile;
    }

    public static async Task<HeadlessChromium> StartAsync()
    {
        var profile = Directory.CreateTempSubdirectory("zd-chromium-").FullName;
        // As root (CI containers) Chromium refuses its sandbox; the page is our own, on loopback.
        var process = BackgroundProcess.Start("chromium",
        [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
            "--disable-extensions", "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", $"--user-data-dir={profile}",
            "--window-size=1280,900", "about:blank",
        ]);
        var browser = new HeadlessChromium(process, profile);
        try
        {
            // Chromium writes the port it chose to DevToolsActivePort in the profile.
            var portFile = Path.Combine(profile, "DevToolsActivePort");
            await Eventually.UntilAsync(() =>
            {
                if (process.Process.HasExited) throw new InvalidOperationException($"chromium exited {process.Process.ExitCode}: {process.StdErr}");
                return Task.FromResult(File.Exists(portFile) && File.ReadAllLines(portFile).Length >= 2);
            }, "chromium opens its DevTools port", TimeSpan.FromSeconds(60));
            var port = int.Parse(File.ReadAllLines(portFile)[0].Trim());
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
            string? pageSocket = null;
            await Eventually.UntilAsync(async () =>
            {
                var targets = JsonNode.Parse(await http.GetStringAsync("json/list"))!.AsArray();
                pageSocket = targets.FirstOrDefault(t => (string?)t!["type"] == "page")?["webSocketDebuggerUrl"]?.GetValue<string>();
                return pageSocket is not null;
            }, "chromium lists its page", TimeSpan.FromSeconds(30));
            await browser._socket.ConnectAsync(new Uri(pageSocket!), CancellationToken.None);
            browser._receiving = browser.ReceiveAsync();
            await browser.SendAsync("Page.enable");
            await browser.SendAsync("Runtime.enable");
            return browser;
        }
        catch
        {
            await browser.DisposeAsync();
            throw;
        }
    }

    public string Log => _process.StdErr;

    public int Pid => _process.Process.Id;

    public Task NavigateAsync(string url) => SendAsync("Page.navigate", new JsonObject { ["url"] = url });

    /// <summary>Evaluates <paramref name="expression"/> in the page and returns its value (JSON-serialisable values only).</summary>
    public async Task<JsonNode?> EvaluateAsync(string expression)
    {
        var result = await SendAsync("Runtime.evaluate", new JsonObject { ["expression"] = expression, ["returnByValue"] = true });
        if (result["exceptionDetails"] is { } error) throw new InvalidOperationException($"page script failed: {error.ToJsonString()}");
        return result["result"]?["value"]?.DeepClone();
    }

    public async Task ScreenshotAsync(string path)
    {
        var shot = await SendAsync("Page.captureScreenshot", new JsonObject { ["format"] = "png", ["captureBeyondViewport"] = true });
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.WriteAllBytesAsync(path, Convert.FromBase64String(shot["data"]!.GetValue<string>()));
    }

    private async Task<JsonNode> SendAsync(string method, JsonObject? parameters = null)
    {
        var id = Interlocked.Increment(ref _nextId);
        var reply = new TaskCompletionSource<JsonNode>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = reply;
        var message = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters ?? new JsonObject() };
        await _socket.SendAsync(Encoding.UTF8.GetBytes(message.ToJsonString()), WebSocketMessageType.Text, true, CancellationToken.None);
        var answer = await reply.Task.WaitAsync(TimeSpan.FromSeconds(60));
        if (answer["error"] is { } error) throw new InvalidOperationException($"{method}: {error.ToJsonString()}");
        return answer["result"] ?? new JsonObject();
    }

    /// <summary>Replies are matched to requests by id; events (messages without one) are not needed here.</summary>
    private async Task ReceiveAsync()
    {
        var buffer = new byte[1 << 16];
        using var message = new MemoryStream();
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var chunk = await _socket.ReceiveAsync(buffer, _stop.Token);
                if (chunk.MessageType == WebSocketMessageType.Close) break;
                message.Write(buffer, 0, chunk.Count);
                if (!chunk.EndOfMessage) continue;
                var node = JsonNode.Parse(message.ToArray());
                message.SetLength(0);
                if (node?["id"] is { } id && _pending.TryRemove(id.GetValue<int>(), out var reply)) reply.TrySetResult(node);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException or JsonException)
        {
            // closing, or the browser went away: pending requests time out with their method named
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _receiving;
        _socket.Dispose();
        await _process.DisposeAsync();
        try { Directory.Delete(_profile, recursive: true); } catch (IOException) { /* a child still writing: left in /tmp */ }
    }
}
