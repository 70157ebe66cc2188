using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ZeroDisk.ServiceDefaults.Telemetry;
using ZeroDisk.Testing;

namespace ZeroDisk.Infrastructure.Tests;

/// <summary>
/// Jaeger takes traces only, so only traces go over OTLP. A service that records spans, a counter and log
/// records with OTEL_EXPORTER_OTLP_ENDPOINT set sends its receiver /v1/traces and nothing else (its metrics are
/// scraped at /metrics; its logs go to the console).
/// </summary>
public class When_a_service_sends_telemetry_over_otlp
{
    private static readonly ActivitySource Source = ZeroDiskTelemetry.CreateSource("Tests.OtlpSignals");
    private static readonly System.Diagnostics.Metrics.Meter Meter = ZeroDiskTelemetry.CreateMeter("Tests.OtlpSignals");

    [Fact]
    public async Task Only_traces_are_sent()
    {
        await using var receiver = OtlpHttpReceiver.Start();
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(receiver.ExporterEnvironment().Select(kv => new KeyValuePair<string, string?>(kv.Key, kv.Value))
            .Append(new("OTEL_METRIC_EXPORT_INTERVAL", "200")));
        builder.ConfigureOpenTelemetry("otlp-signals-test");
        using (var host = builder.Build())
        {
            await host.StartAsync();
            var counter = Meter.CreateCounter<long>("zerodisk.tests.otlp_signals");
            var logger = ((IServiceProvider)host.Services).GetService(typeof(ILogger<When_a_service_sends_telemetry_over_otlp>)) as ILogger;
            for (var i = 0; i < 5; i++)
            {
                using (Source.StartActivity("work")) counter.Add(1);
                logger!.LogWarning("a log record {Index}", i);
                await Task.Delay(200);
            }
            await host.StopAsync();
        }
        await Eventually.TrueAsync(() => receiver.Spans.Any(s => s.Service == "otlp-signals-test"), TimeSpan.FromSeconds(15), "the spans arrive");
        Assert.All(receiver.Paths, p => Assert.Equal("/v1/traces", p));
    }
}
