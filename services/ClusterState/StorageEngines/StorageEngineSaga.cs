using System.Text.Json.Serialization;
using MassTransit;
using ZeroDisk.ClusterState.History;
using ZeroDisk.ClusterState.Topology;
using ZeroDisk.Contracts;

namespace ZeroDisk.ClusterState.StorageEngines;

/// <summary>One storage engine (the AYS storage_engine service), persisted at <c>zerodisk/sagas/storage-engine/&lt;id&gt;</c>.</summary>
public sealed class StorageEngineSaga : SagaStateMachineInstance
{
    public Guid CorrelationId { get; set; }
    public string CurrentState { get; set; } = "Initial";
    public string Address { get; set; } = "";
    public string? ClusterId { get; set; }
    /// <summary>Created at each Offline transition; completions and classifications for another incident are ignored.</summary>
    public string? Incident { get; set; }
    /// <summary>The trace of the report that opened the incident: one incident is one trace.</summary>
    public string? IncidentTraceId { get; set; }
    /// <summary>When the current state was entered: failure reports observed before it are stale.</summary>
    public DateTimeOffset StateEnteredAt { get; set; }
    public OutageKind? Outage { get; set; }
    public List<string> AffectedVdisks { get; set; } = [];
    public List<string> CompletedVdisks { get; set; } = [];
    public List<TransitionRecord> History { get; set; } = [];
    /// <summary>When the scheduler was last asked to verify this incident's repair (the reconciler asks again later).</summary>
    public DateTimeOffset? VerificationRequestedAt { get; set; }
    /// <summary>Set while this engine's shard has no serving side (it failed while its twin was down): why.</summary>
    public string? ShardUnavailable { get; set; }
    /// <summary>A classification not applied because no complete side of the shard serves (the reconciler releases it).</summary>
    public OutageKind? HeldOutage { get; set; }
    /// <summary>Why <see cref="HeldOutage"/> is held: which twin is down, or holds blocks this engine missed.</summary>
    public string? HeldBecause { get; set; }
    /// <summary>The last failure report refused because the engine answered a probe while its twin was down.</summary>
    public string? LastRefusedReport { get; set; }

    /// <summary>What the last-serving-side check found for the report being handled (never persisted).</summary>
    [JsonIgnore]
    public LastSideVerdict? ReportVerdict { get; set; }

    /// <summary>Whether the engine may serve its shard alone, judged when a classification arrived (never persisted).</summary>
    [JsonIgnore]
    public ServeAloneVerdict? ServeAlone { get; set; }

    /// <summary>The clusters and vdisks the report being handled read, once for all it decides (never persisted).</summary>
    [JsonIgnore]
    public TopologySnapshot? Topology { get; set; }

    [JsonIgnore]
    public bool AllVdisksCompleted => AffectedVdisks.All(CompletedVdisks.Contains);
}
