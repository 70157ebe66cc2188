using System.Text.Json.Serialization;
using MassTransit;
using ZeroDisk.ClusterState.History;
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
    /// <summary>The trace of the report that opened the incident: one incident is one trace (DESIGN §5).</summary>
    public string? IncidentTraceId { get; set; }
    /// <summary>When the current state was entered: failure reports observed before it are stale.</summary>
    public DateTimeOffset StateEnteredAt { get; set; }
    public OutageKind? Outage { get; set; }
    public List<string> AffectedVdisks { get; set; } = [];
    public List<string> CompletedVdisks { get; set; } = [];
    public List<TransitionRecord> History { get; set; } = [];

    [JsonIgnore]
    public bool AllVdisksCompleted => AffectedVdisks.All(CompletedVdisks.Contains);
}
