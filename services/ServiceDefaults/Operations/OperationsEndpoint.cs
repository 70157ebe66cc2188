using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ZeroDisk.ServiceDefaults.Health;

namespace ZeroDisk.ServiceDefaults.Operations;

/// <summary>
/// The operations endpoints (<c>/health/live</c>, <c>/health/ready</c>, <c>/metrics</c>) of a service that has no web
/// server of its own (scheduler, collector, node agent): a small Kestrel on <see cref="Url"/> that answers from the
/// service's own health checks and meter provider. It starts before the service's other hosted services, so a
/// service still waiting for its broker already answers "not ready". A port already taken is logged, not fatal: the
/// service's work matters more than its probes.
/// </summary>
public sealed class OperationsEndpoint(string url, IServiceProvider services, ILogger<OperationsEndpoint> logger) : IHostedService, IAsyncDisposable
{
    private WebApplication? _app;

    public string Url { get; } = url;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls(Url);
        var app = builder.Build();
        app.MapOperationsEndpoints(services);
        try
        {
            await app.StartAsync(cancellationToken);
            _app = app;
            logger.LogInformation("Operations endpoint on {Url} (/health/live, /health/ready, /metrics)", Url);
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or System.Net.Sockets.SocketException)
        {
            await app.DisposeAsync();
            logger.LogError(ex, "Operations endpoint could not listen on {Url}; set {Key} to a free address. The service runs on without it", Url, OperationsExtensions.UrlKey);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_app is not null) await _app.StopAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null) await _app.DisposeAsync();
    }
}

public static class OperationsExtensions
{
    /// <summary>Where a service without a web server of its own answers health probes and scrapes (e.g. Operations__Url=http://127.0.0.1:5081).</summary>
    public const string UrlKey = "Operations:Url";

    /// <summary>Whether an environment variable sets <see cref="UrlKey"/> ("__" for ":", any case, as configuration reads it).</summary>
    public static bool IsUrlVariable(string name) => name.Replace("__", ":", StringComparison.Ordinal).Equals(UrlKey, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Serves <c>/health/live</c>, <c>/health/ready</c> and <c>/metrics</c> for a generic host on
    /// <c>Operations:Url</c>, else <paramref name="defaultUrl"/>; with neither (or "off"), nothing listens. One line in a
    /// service's Program, before the services that wait for the broker: <c>builder.AddOperationsEndpoint("http://127.0.0.1:5083")</c>.
    /// A web service maps the same endpoints on its own port with <see cref="HealthExtensions.MapDefaultEndpoints"/> instead.
    /// </summary>
    public static IHostApplicationBuilder AddOperationsEndpoint(this IHostApplicationBuilder builder, string? defaultUrl = null)
    {
        var url = builder.Configuration[UrlKey] is { Length: > 0 } configured ? configured : defaultUrl;
        builder.Services.AddHealthChecks();
        if (string.IsNullOrWhiteSpace(url) || url.Equals("off", StringComparison.OrdinalIgnoreCase)) return builder;
        builder.Services.AddHostedService(sp => new OperationsEndpoint(url, sp, sp.GetRequiredService<ILogger<OperationsEndpoint>>()));
        return builder;
    }
}
