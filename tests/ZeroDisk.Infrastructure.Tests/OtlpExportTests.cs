using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using ZeroDisk.ServiceDefaults.Telemetry;
using ZeroDisk.Testing;

namespace ZeroDisk.Infrastructure.Tests;

/// <summary>
/// With OTEL_EXPORTER_OTLP_ENDPOINT set, a service's spans reach an OTLP/HTTP endpoint (what Jaeger's 4318 is in
/// docker-compose), with its service name and the trace and parent ids intact; without it, nothing is exported.
/// </summary>
public class When_a_service_exports_its_traces
{
    private static readonly ActivitySource Source = ZeroDiskTelemetry.CreateSource("Tests.Otlp");

    [Fact]
    public async Task Spans_reach_an_otlp_http_endpoint_with_service_name_and_parentage()
    {
        await using var receiver = OtlpHttpReceiver.Start();
        ActivityTraceId traceId;
        string parentId, childId;
        using (var host = Build("otlp-export-test", receiver.ExporterEnvironment()))
        {
            await host.StartAsync();
            using (var parent = Source.StartActivity("incident"))
            using (var child = Source.StartActivity("repair"))
            {
                Assert.NotNull(parent);
                traceId = parent.TraceId;
                parentId = parent.SpanId.ToHexString();
                childId = child!.SpanId.ToHexString();
            }
            await host.StopAsync(); // disposing the tracer provider flushes the batch
        }

        await Eventually.TrueAsync(() => receiver.Spans.Count(s => s.TraceId == traceId.ToHexString()) == 2, TimeSpan.FromSeconds(15), "both spans at the receiver");
        var spans = receiver.Spans.Where(s => s.TraceId == traceId.ToHexString()).ToDictionary(s => s.Name);
        Assert.Equal(("otlp-export-test", parentId, ""), (spans["incident"].Service, spans["incident"].SpanId, spans["incident"].ParentSpanId));
        Assert.Equal(("otlp-export-test", childId, parentId), (spans["repair"].Service, spans["repair"].SpanId, spans["repair"].ParentSpanId));
    }

    [Fact]
    public async Task Nothing_is_exported_without_an_endpoint()
    {
        await using var receiver = OtlpHttpReceiver.Start();
        using (var host = Build("otlp-silent-test", new Dictionary<string, string>()))
        {
            await host.StartAsync();
            using (Source.StartActivity("unexported")) { }
            await host.StopAsync();
        }
        await Task.Delay(1000);
        Assert.Equal(0, receiver.Requests);
    }

    private static IHost Build(string service, IReadOnlyDictionary<string, string> settings)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(settings.Select(kv => new KeyValuePair<string, string?>(kv.Key, kv.Value)));
        builder.ConfigureOpenTelemetry(service);
        return builder.Build();
    }
}
