using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace ZeroDisk.ServiceDefaults.Telemetry;

/// <summary>
/// The ActivitySource and Meter names every ZeroDisk component uses; OpenTelemetry listens to "ZeroDisk.*".
/// MassTransit's source and meter are both named "MassTransit" and must be enabled on every hop, or the
/// trace header is not written and an incident falls apart into several traces.
/// </summary>
public static class ZeroDiskTelemetry
{
    public const string Prefix = "ZeroDisk";
    public const string MassTransitName = "MassTransit";

    public static ActivitySource CreateSource(string component) => new($"{Prefix}.{component}");
    public static Meter CreateMeter(string component) => new($"{Prefix}.{component}");
}
