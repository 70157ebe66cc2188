using System.Collections.Concurrent;
using System.Diagnostics;
using ZeroDisk.LogCollector.Telemetry;
using ZeroDisk.ServiceDefaults.Telemetry;

namespace ZeroDisk.LogCollector.Tests;

public class When_an_event_is_relayed
{
    [Fact]
    public async Task The_consumer_runs_in_the_trace_the_collector_started_for_the_line()
    {
        var endpoints = await SharedInfrastructure.GetAsync();
        var node = TestNames.Unique("lc-trace");
        var collectorSpans = new ConcurrentBag<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == CollectorTelemetry.Name || source.Name == ZeroDiskTelemetry.MassTransitName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                if (activity.Source.Name == CollectorTelemetry.Name && (activity.GetTagItem("zerodisk.node") as string) == node)
                    collectorSpans.Add(activity);
            },
        };
        ActivitySource.AddActivityListener(listener);
        using var directory = new LogDirectory();
        await using var capture = await EventCapture.StartAsync(endpoints, node);
        await using var collector = await InProcessCollector.StartAsync(endpoints, node, directory.Path);

        var (line, key) = EventLines.Event(0, $"{node}-traced");
        var offset = LogDirectory.AppendLine(directory.File("nbd-vm4.log"), line);
        await capture.Messages.WaitForKeysAsync([key], TimeSpan.FromSeconds(60));

        var received = capture.Messages.ByKey(key)!;
        Assert.NotEqual(default, received.TraceId);
        var span = Assert.Single(collectorSpans, s => (long)s.GetTagItem("zerodisk.offset")! == offset);
        Assert.Equal(span.TraceId, received.TraceId);
        Assert.Equal(received.MessageId.ToString(), span.GetTagItem("messaging.message.id"));
    }
}
