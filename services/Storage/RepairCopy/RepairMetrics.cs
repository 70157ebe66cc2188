using System.Diagnostics.Metrics;
using ZeroDisk.ServiceDefaults.Telemetry;

namespace ZeroDisk.Storage.RepairCopy;

/// <summary>Repair progress as metrics (tags: kind tmp|final, vdisk, engine), for the on-call dashboards.</summary>
internal static class RepairMetrics
{
    public static readonly Meter Meter = ZeroDiskTelemetry.CreateMeter("NbdHost");

    public static readonly Counter<long> BlocksCopied =
        Meter.CreateCounter<long>("zerodisk.repair.blocks_copied", "{block}", "Blocks a repair copied to a returned engine or a new home");

    public static readonly Counter<long> BytesCopied =
        Meter.CreateCounter<long>("zerodisk.repair.bytes_copied", "By", "Bytes a repair copied");
}
