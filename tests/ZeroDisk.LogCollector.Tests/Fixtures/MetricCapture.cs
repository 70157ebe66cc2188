using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using ZeroDisk.LogCollector.Telemetry;

namespace ZeroDisk.LogCollector.Tests.Fixtures;

/// <summary>Sums one collector counter per node (test classes run in parallel in one process and share the Meter).</summary>
public sealed class MetricCapture : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, long> _byNode = new();

    public MetricCapture(string instrumentName)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == CollectorTelemetry.Name && instrument.Name == instrumentName)
                listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
                if (tag.Key == "zerodisk.node" && tag.Value is string node)
                    _byNode.AddOrUpdate(node, value, (_, sum) => sum + value);
        });
        _listener.Start();
    }

    public long For(string node) => _byNode.GetValueOrDefault(node);

    public void Dispose() => _listener.Dispose();
}
