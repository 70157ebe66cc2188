using System.Diagnostics.Metrics;
using ZeroDisk.Contracts;
using ZeroDisk.ServiceDefaults.Telemetry;

namespace ZeroDisk.ClusterState.Operability;

/// <summary>
/// The signals an on-call engineer alerts on, as gauges of the latest <see cref="ClusterObservation"/> (meter "ZeroDisk.ClusterState",
/// scraped at <c>/metrics</c>): engine state, dirty blocks, degraded and unavailable shards, repair age, progress,
/// rate, ETA and blocked reasons, error queue depth, and the health verdict. Prometheus names replace the dots
/// with underscores (<c>zerodisk_engine_dirty_blocks</c>); deploy/prometheus/alerts.yml alerts on them.
/// </summary>
public sealed class ClusterMetrics : IDisposable
{
    public const string MeterName = ZeroDiskTelemetry.Prefix + ".ClusterState";

    /// <summary>The states of the state gauge: the four an operator tells apart (both repair kinds are "repairing").</summary>
    public static readonly IReadOnlyList<string> StateLabels = ["online", "offline", "repairing", "rip"];

    private readonly Meter _meter = new(MeterName);

    public ClusterMetrics(ClusterObserver observer)
    {
        IEnumerable<EngineObservation> Engines() => observer.Latest?.Engines ?? [];
        IEnumerable<RepairObservation> Repairs() => observer.Latest?.Repairs ?? [];
        IEnumerable<ShardObservation> Shards() => observer.Latest?.Shards ?? [];

        _meter.CreateObservableGauge("zerodisk.engine.state", () => Engines().SelectMany(e => StateLabels.Select(s =>
            new Measurement<long>(StateLabel(e.State) == s ? 1 : 0, Tag("engine", e.Address), Tag("cluster", e.ClusterId), Tag("state", s)))),
            description: "1 for the state each engine is in (online, offline, repairing, rip), 0 for the others");
        _meter.CreateObservableGauge("zerodisk.engine.dirty_blocks", () => Engines().Where(e => e.DirtyBlocks is not null).Select(e =>
            new Measurement<long>(e.DirtyBlocks!.Value, Tag("engine", e.Address), Tag("cluster", e.ClusterId))),
            description: "blocks written while the engine was down and not yet copied onto it");
        _meter.CreateObservableGauge("zerodisk.engine.dirty_bytes", () => Engines().Where(e => e.DirtyBytes is not null).Select(e =>
            new Measurement<long>(e.DirtyBytes!.Value, Tag("engine", e.Address), Tag("cluster", e.ClusterId))),
            description: "bytes of the engine's dirty blocks");
        _meter.CreateObservableGauge("zerodisk.shards.degraded", () => ShardCounts(Shards(), s => s.Degraded),
            description: "shards served by one side only (an engine offline or being repaired)");
        _meter.CreateObservableGauge("zerodisk.shards.unavailable", () => ShardCounts(Shards(), s => s.Unavailable),
            description: "shards with no serving side");
        _meter.CreateObservableGauge("zerodisk.repair.age_seconds", () => Repairs().Select(r => new Measurement<double>(r.AgeSeconds, RepairTags(r))),
            description: "how long the engine has been offline or in repair");
        _meter.CreateObservableGauge("zerodisk.repair.progress_ratio", () => Repairs().Select(r => new Measurement<double>(r.Progress, RepairTags(r))),
            description: "repair progress, 0..1: blocks copied of a temporary outage, else vdisks completed");
        _meter.CreateObservableGauge("zerodisk.repair.vdisks_completed", () => Repairs().Select(r => new Measurement<long>(r.CompletedVdisks, RepairTags(r))));
        _meter.CreateObservableGauge("zerodisk.repair.vdisks_affected", () => Repairs().Select(r => new Measurement<long>(r.AffectedVdisks, RepairTags(r))));
        _meter.CreateObservableGauge("zerodisk.repair.remaining_blocks", () => Repairs().Where(r => r.RemainingBlocks is not null).Select(r => new Measurement<long>(r.RemainingBlocks!.Value, RepairTags(r))));
        _meter.CreateObservableGauge("zerodisk.repair.remaining_bytes", () => Repairs().Where(r => r.RemainingBytes is not null).Select(r => new Measurement<long>(r.RemainingBytes!.Value, RepairTags(r))));
        _meter.CreateObservableGauge("zerodisk.repair.blocks_per_second", () => Repairs().Where(r => r.BlocksPerSecond is not null).Select(r => new Measurement<double>(r.BlocksPerSecond!.Value, RepairTags(r))));
        _meter.CreateObservableGauge("zerodisk.repair.eta_seconds", () => Repairs().Where(r => r.EtaSeconds is not null).Select(r => new Measurement<double>(r.EtaSeconds!.Value, RepairTags(r))));
        _meter.CreateObservableGauge("zerodisk.repair.blocked", () => Repairs().SelectMany(r => r.Blocked.Select(b => b.Code).Distinct().Select(code =>
            new Measurement<long>(1, Tag("engine", r.Engine), Tag("reason", code)))),
            description: "1 per reason a repair cannot progress (twin-down, no-agent, lease-lapsed, job-silent, no-campaign, …)");
        _meter.CreateObservableGauge("zerodisk.bus.error_queue_messages", () => (observer.Latest?.ErrorQueues ?? []).Select(q =>
            new Measurement<long>(q.Messages, Tag("queue", q.Queue))),
            description: "messages in each _error queue of the bus's virtual host");
        _meter.CreateObservableGauge<long>("zerodisk.health.status", () =>
        {
            var verdict = HealthAssessment.Assess(observer.Latest, observer.LastError, DateTimeOffset.UtcNow);
            return new[] { new Measurement<long>(verdict.Status switch { HealthAssessment.Ok => 0, HealthAssessment.Warn => 1, _ => 2 }) };
        }, description: "the health verdict: 0 HEALTH_OK, 1 HEALTH_WARN, 2 HEALTH_ERR (zdctl health)");
        _meter.CreateObservableGauge("zerodisk.health.check", () =>
            HealthAssessment.Assess(observer.Latest, observer.LastError, DateTimeOffset.UtcNow).Checks.Select(c =>
                new Measurement<long>(1, Tag("check", c.Check), Tag("severity", c.Severity))),
            description: "1 per failing named health check");
        _meter.CreateObservableGauge<long>("zerodisk.observer.up", () => new[] { new Measurement<long>(observer.Latest is not null && observer.LastError is null ? 1 : 0) },
            description: "1 while ClusterState reads the cluster state successfully");
    }

    public static string StateLabel(EngineState state) => state switch
    {
        EngineState.Online => "online",
        EngineState.Offline => "offline",
        EngineState.Rip => "rip",
        _ => "repairing",
    };

    private static IEnumerable<Measurement<long>> ShardCounts(IEnumerable<ShardObservation> shards, Func<ShardObservation, bool> counted) =>
        shards.GroupBy(s => (s.PrimaryCluster, s.SlaveCluster)).Select(g =>
            new Measurement<long>(g.Count(counted), Tag("primary_cluster", g.Key.PrimaryCluster), Tag("slave_cluster", g.Key.SlaveCluster)));

    private static KeyValuePair<string, object?>[] RepairTags(RepairObservation r) =>
        [Tag("engine", r.Engine), Tag("cluster", r.ClusterId), Tag("state", r.State.ToWire())];

    private static KeyValuePair<string, object?> Tag(string key, object? value) => new(key, value);

    public void Dispose() => _meter.Dispose();
}
