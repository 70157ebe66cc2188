using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Trace;

namespace ZeroDisk.ClusterState.Tests.Scenarios;

/// <summary>One incident = one trace: the saga's spans and its history join the reporter's trace.</summary>
public sealed class When_an_incident_is_traced
{
    private static readonly ActivitySource Reporter = new("ZeroDisk.Tests.Reporter");

    [Fact]
    public async Task The_saga_spans_and_the_history_carry_the_reporters_trace_id()
    {
        var spans = new List<Activity>();
        await using var deployment = await ClusterStateDeployment.CreateAsync();
        await deployment.StartInProcessAsync(configure: b => b.Services.ConfigureOpenTelemetryTracerProvider(t => t.AddInMemoryExporter(spans)));
        var engine = deployment.NewEngineAddress();
        var clusterId = await deployment.SeedClusterAsync("c1", engine, deployment.NewEngineAddress());
        var slaveId = await deployment.SeedClusterAsync("c2", deployment.NewEngineAddress(), deployment.NewEngineAddress());
        var vdisk = await deployment.SeedVdiskAsync("vd1", clusterId, slaveId);

        ActivityTraceId traceId;
        using (var incident = Reporter.StartActivity("storageengine-failure", ActivityKind.Producer))
        {
            Assert.NotNull(incident); // the service's tracer provider listens to ZeroDisk.*
            traceId = incident.TraceId;
            await deployment.ReportFailureAsync(engine);
        }
        await deployment.WaitForEngineAsync(clusterId, engine, EngineState.Offline);

        var saga = await deployment.EngineSagaAsync(engine);
        Assert.Equal(traceId.ToString(), saga!.History.Single().TraceId);
        // The incident keeps its trace id, and each vdisk repair of the incident carries it (zdctl shows it).
        Assert.Equal(traceId.ToString(), saga.IncidentTraceId);
        var repair = await Eventually.ValueAsync(() => deployment.VdiskRepairSagaAsync(vdisk, saga.Incident!), r => r is not null, TimeSpan.FromSeconds(30));
        Assert.Equal(traceId.ToString(), repair!.IncidentTraceId);
        // The announcement travels on in the same trace: the cluster saga's transition carries it too.
        await Eventually.UntilAsync(async () => (await deployment.ClusterSagaAsync(clusterId))?.History.Count == 1, "the cluster saga recorded repairing");
        Assert.Equal(traceId.ToString(), (await deployment.ClusterSagaAsync(clusterId))!.History.Single().TraceId);

        await Eventually.UntilAsync(() => Task.FromResult(Snapshot(spans).Any(s => s.TraceId == traceId && s.Source.Name == "MassTransit"
                && s.Kind == ActivityKind.Consumer && s.DisplayName.Contains("storage-engine", StringComparison.Ordinal))),
            "a MassTransit consumer span of the engine saga is in the reporter's trace");
    }

    /// <summary>The exporter appends from other threads; copy until a copy succeeds.</summary>
    private static IReadOnlyList<Activity> Snapshot(List<Activity> spans)
    {
        while (true)
        {
            try
            {
                return spans.ToArray().Where(s => s is not null).ToList();
            }
            catch (ArgumentException)
            {
                // the list grew while being copied
            }
        }
    }
}
