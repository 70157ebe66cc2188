using System.Diagnostics;
using System.Diagnostics.Metrics;
using ZeroDisk.ServiceDefaults.Telemetry;

namespace ZeroDisk.RepairScheduler;

internal static class SchedulerTelemetry
{
    public static readonly ActivitySource Source = ZeroDiskTelemetry.CreateSource("RepairScheduler");
    public static readonly Meter Meter = ZeroDiskTelemetry.CreateMeter("RepairScheduler");
    public static readonly Counter<long> RepairsDispatched = Meter.CreateCounter<long>("zerodisk.repair.dispatched", description: "repair jobs sent to node agents");
    public static readonly Counter<long> Restarts = Meter.CreateCounter<long>("zerodisk.process.restarts", description: "restart commands sent for crashed processes");
    public static readonly Counter<long> DuplicateExits = Meter.CreateCounter<long>("zerodisk.process.duplicate_exits", description: "process-exited reports of an exit already acted on (ignored)");
    public static readonly Counter<long> RestartsThrottled = Meter.CreateCounter<long>("zerodisk.process.restarts_throttled", description: "restarts delayed because the process keeps crashing");
}
