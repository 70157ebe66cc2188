using System.Text.Json;
using ZeroDisk.Contracts;

namespace ZeroDisk.ClusterState.StatusPage;

/// <summary>
/// The live status page: <c>GET /status</c> (the page), its assets (embedded in this assembly: the
/// service needs no content root and no CDN), <c>GET /status/model</c> (the model as JSON) and
/// <c>GET /status/events</c> (server-sent events: the model again whenever it changes). Read-only, so no admin token.
/// </summary>
public static class StatusPageEndpoints
{
    private static readonly TimeSpan Tick = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(15);

    private static readonly IReadOnlyDictionary<string, string> Assets = new Dictionary<string, string>
    {
        ["index.html"] = "text/html; charset=utf-8",
        ["status.css"] = "text/css; charset=utf-8",
        ["status.js"] = "text/javascript; charset=utf-8",
    };

    public static IServiceCollection AddStatusPage(this IServiceCollection services) => services.AddSingleton<StatusSnapshots>();

    public static WebApplication MapStatusPage(this WebApplication app)
    {
        app.MapGet("/", () => Results.Redirect("/status/"));
        // One route for "/status" and "/status/" (routing does not tell them apart); the page's relative URLs need the slash.
        app.MapGet("/status", (HttpContext http) => http.Request.Path.Value!.EndsWith('/') ? Asset("index.html") : Results.Redirect("/status/"));
        app.MapGet("/status/{file}", (string file) => Assets.ContainsKey(file) ? Asset(file) : Results.NotFound());
        app.MapGet("/status/model", async (StatusSnapshots snapshots, CancellationToken ct) =>
            Results.Json(await snapshots.CurrentAsync(ct), ZeroDiskJson.Options));
        app.MapGet("/status/events", StreamAsync);
        return app;
    }

    private static IResult Asset(string file)
    {
        using var stream = typeof(StatusPageEndpoints).Assembly.GetManifestResourceStream($"StatusPage/{file}")
                           ?? throw new InvalidOperationException($"StatusPage/{file} is not embedded");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return Results.Bytes(copy.ToArray(), Assets[file]);
    }

    /// <summary>One event per change of the model (its JSON compared), a comment line every <see cref="KeepAlive"/> so proxies keep the stream.</summary>
    private static async Task StreamAsync(HttpContext http, StatusSnapshots snapshots, ILoggerFactory loggers, IHostApplicationLifetime lifetime,
        CancellationToken aborted)
    {
        // An open page must not hold the service's shutdown until its timeout: the stream ends when the service stops.
        using var both = CancellationTokenSource.CreateLinkedTokenSource(aborted, lifetime.ApplicationStopping);
        var ct = both.Token;
        http.Response.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-cache";
        http.Response.Headers["X-Accel-Buffering"] = "no";
        string? sent = null;
        var quiet = TimeSpan.Zero;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                string? payload;
                try
                {
                    var model = await snapshots.CurrentAsync(ct);
                    var content = JsonSerializer.Serialize(model with { GeneratedAt = default }, ZeroDiskJson.Options);
                    payload = content == sent ? null : JsonSerializer.Serialize(model, ZeroDiskJson.Options);
                    sent = content;
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // etcd unreachable: say so on the page instead of ending the stream; the browser keeps what it has.
                    loggers.CreateLogger(typeof(StatusPageEndpoints)).LogWarning("status page: {Error}", ex.Message);
                    payload = null;
                    await http.Response.WriteAsync($"event: unavailable\ndata: {JsonSerializer.Serialize(ex.Message)}\n\n", ct);
                }
                if (payload is not null)
                {
                    await http.Response.WriteAsync($"data: {payload}\n\n", ct);
                    quiet = TimeSpan.Zero;
                }
                else if ((quiet += Tick) >= KeepAlive)
                {
                    await http.Response.WriteAsync(": keep-alive\n\n", ct);
                    quiet = TimeSpan.Zero;
                }
                await http.Response.Body.FlushAsync(ct);
                await Task.Delay(Tick, ct);
            }
        }
        catch (OperationCanceledException)
        {
            // the viewer went away
        }
    }
}
