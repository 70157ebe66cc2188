using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace ZeroDisk.ServiceDefaults.Telemetry;

public static class TelemetryExtensions
{
    public const string OtlpEndpointKey = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>
    /// Traces, metrics and logs for a component. Metrics are pulled by Prometheus from <c>/metrics</c> (the
    /// OpenTelemetry Prometheus exporter, mapped by <see cref="Health.HealthExtensions.MapOperationsEndpoints"/>);
    /// only traces are pushed over OTLP, and only when OTEL_EXPORTER_OTLP_ENDPOINT is set: Jaeger takes traces
    /// alone, and metrics or logs sent to it were dropped.
    /// </summary>
    public static IHostApplicationBuilder ConfigureOpenTelemetry(this IHostApplicationBuilder builder, string serviceName)
    {
        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeFormattedMessage = true;
            logging.IncludeScopes = true;
        });

        var otlp = !string.IsNullOrWhiteSpace(builder.Configuration[OtlpEndpointKey]);
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(serviceName))
            .WithMetrics(metrics => metrics
                .AddRuntimeInstrumentation()
                .AddMeter(ZeroDiskTelemetry.MassTransitName, $"{ZeroDiskTelemetry.Prefix}.*")
                .AddPrometheusExporter())
            .WithTracing(tracing =>
            {
                tracing
                    .AddSource(ZeroDiskTelemetry.MassTransitName, $"{ZeroDiskTelemetry.Prefix}.*")
                    .AddHttpClientInstrumentation()
                    .AddAspNetCoreInstrumentation(o => o.Filter = ctx =>
                        !ctx.Request.Path.StartsWithSegments("/health") && !ctx.Request.Path.StartsWithSegments("/metrics"));
                if (otlp) tracing.AddOtlpExporter();
            });
        return builder;
    }
}
