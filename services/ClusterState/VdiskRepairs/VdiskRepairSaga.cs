using MassTransit;
using ZeroDisk.ClusterState.History;
using ZeroDisk.Contracts;

namespace ZeroDisk.ClusterState.VdiskRepairs;

/// <summary>One vdisk's repair for one engine incident, persisted at <c>zerodisk/sagas/vdisk-repair/&lt;id&gt;</c>.</summary>
public sealed class VdiskRepairSaga : SagaStateMachineInstance
{
    public Guid CorrelationId { get; set; }
    public string CurrentState { get; set; } = "Initial";
    public string VdiskId { get; set; } = "";
    public string Address { get; set; } = "";
    public string Incident { get; set; } = "";
    /// <summary>The trace of the engine incident this repair belongs to (the engine saga's, passed on).</summary>
    public string? IncidentTraceId { get; set; }
    public RepairKind? Kind { get; set; }
    public List<TransitionRecord> History { get; set; } = [];
}
