using System.Diagnostics;
using System.Diagnostics.Metrics;
using ZeroDisk.ServiceDefaults.Telemetry;

namespace ZeroDisk.LogCollector.Telemetry;

/// <summary>The collector's trace source and the counters an operator watches (tagged by node and stream).</summary>
public static class CollectorTelemetry
{
    public const string Component = "LogCollector";
    /// <summary>The name of both the ActivitySource and the Meter (what a listener matches on).</summary>
    public const string Name = ZeroDiskTelemetry.Prefix + "." + Component;
    public const string MalformedLinesName = "zerodisk.logcollector.malformed_lines";
    public const string PublishedName = "zerodisk.logcollector.published";
    public const string OrdinaryLinesName = "zerodisk.logcollector.ordinary_lines";
    public const string PublishRetriesName = "zerodisk.logcollector.publish_retries";
    public const string TruncationsName = "zerodisk.logcollector.truncations";
    public const string BrokerReconnectsName = "zerodisk.logcollector.broker_reconnects";

    public static readonly ActivitySource Source = ZeroDiskTelemetry.CreateSource(Component);
    public static readonly Meter Meter = ZeroDiskTelemetry.CreateMeter(Component);

    public static readonly Counter<long> MalformedLines = Meter.CreateCounter<long>(MalformedLinesName, "{line}", "Event lines that could not be read (bad JSON, wrong types, invalid UTF-8, binary, overlong)");
    public static readonly Counter<long> Published = Meter.CreateCounter<long>(PublishedName, "{message}", "Messages the broker confirmed");
    public static readonly Counter<long> OrdinaryLines = Meter.CreateCounter<long>(OrdinaryLinesName, "{line}", "Ordinary log lines (forwarded or dropped per config)");
    public static readonly Counter<long> PublishRetries = Meter.CreateCounter<long>(PublishRetriesName, "{attempt}", "Publishes retried because the broker did not confirm");
    public static readonly Counter<long> BrokerReconnects = Meter.CreateCounter<long>(BrokerReconnectsName, "{reconnect}", "Broker connections dropped and reopened because nothing was confirmed for too long");
    public static readonly Counter<long> Truncations = Meter.CreateCounter<long>(TruncationsName, "{event}", "Log files seen truncated (each starts a new generation)");

    public static TagList StreamTags(string node, string stream) => new() { { "zerodisk.node", node }, { "zerodisk.stream", stream } };
}
