using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Metrics;

namespace ZeroDisk.ServiceDefaults.Health;

public static class HealthExtensions
{
    /// <summary>The tag of checks that say only whether the process itself works (liveness).</summary>
    public const string LiveTag = "live";
    /// <summary>The tag of checks on what the process depends on (its bus, etcd): readiness.</summary>
    public const string ReadyTag = "ready";

    public static IHostApplicationBuilder AddDefaultHealthChecks(this IHostApplicationBuilder builder)
    {
        builder.Services.AddHealthChecks().AddCheck("self", () => HealthCheckResult.Healthy(), [LiveTag]);
        return builder;
    }

    /// <summary>The operations endpoints on a web service's own port (<see cref="MapOperationsEndpoints"/>).</summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        app.MapOperationsEndpoints(app.Services);
        return app;
    }

    /// <summary>
    /// <c>/health/live</c> (the process answers: checks tagged "live"), <c>/health/ready</c> (every check: the bus,
    /// etcd and whatever else the service registered), both JSON; <c>/metrics</c> (Prometheus text format, from the
    /// OpenTelemetry meter provider of <paramref name="services"/>). <c>/health</c> and <c>/alive</c> stay as the older
    /// names of ready and live. <paramref name="services"/> is the service's own container, which may be another
    /// host's than the one serving the endpoints (<see cref="Operations.OperationsEndpoint"/>).
    /// </summary>
    public static IEndpointRouteBuilder MapOperationsEndpoints(this IEndpointRouteBuilder endpoints, IServiceProvider services)
    {
        var health = services.GetRequiredService<HealthCheckService>();
        Func<HealthCheckRegistration, bool> live = r => r.Tags.Contains(LiveTag);
        Func<HealthCheckRegistration, bool> ready = _ => true;
        endpoints.MapGet("/health/live", (HttpContext context) => HealthReportJson.RespondAsync(context, health, live));
        endpoints.MapGet("/health/ready", (HttpContext context) => HealthReportJson.RespondAsync(context, health, ready));
        endpoints.MapGet("/alive", (HttpContext context) => HealthReportJson.RespondAsync(context, health, live));
        endpoints.MapGet("/health", (HttpContext context) => HealthReportJson.RespondAsync(context, health, ready));
        if (services.GetService<MeterProvider>() is { } meters)
        {
            var scrape = endpoints.CreateApplicationBuilder()
                .UseOpenTelemetryPrometheusScrapingEndpoint(meters, predicate: _ => true, path: null, configureBranchedPipeline: null, optionsName: null)
                .Build();
            endpoints.Map("/metrics", scrape);
        }
        return endpoints;
    }
}
