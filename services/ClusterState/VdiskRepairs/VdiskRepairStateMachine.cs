using MassTransit;
using ZeroDisk.ClusterState.Extensions;
using ZeroDisk.ClusterState.History;
using ZeroDisk.ClusterState.Identity;

namespace ZeroDisk.ClusterState.VdiskRepairs;

/// <summary>
/// Pending → Running → Completed for one vdisk and incident. Phases only move forward, so a late "running" after
/// "completed" (messages overtaking each other) changes nothing.
/// </summary>
public sealed class VdiskRepairStateMachine : MassTransitStateMachine<VdiskRepairSaga>
{
    private readonly TimeProvider _time;
    private readonly int _historyLimit;

    public VdiskRepairStateMachine(TimeProvider time, ClusterStateOptions options)
    {
        _time = time;
        _historyLimit = options.HistoryLimit;

        InstanceState(x => x.CurrentState);
        Event(() => PhaseChanged, x => x.CorrelateById(c => SagaIds.VdiskRepair(c.Message.VdiskId, c.Message.Incident)));
        OnUnhandledEvent(x => x.Ignore());

        During(Initial, Pending, Running,
            When(PhaseChanged, c => Rank(c.Message.Phase) > Rank(c.Saga.CurrentState))
                .Then(Record)
                .IfElse(c => c.Message.Phase == VdiskRepairPhase.Pending, b => b.TransitionTo(Pending),
                    b => b.IfElse(c => c.Message.Phase == VdiskRepairPhase.Running, r => r.TransitionTo(Running), d => d.TransitionTo(Completed))));

        During(Completed,
            When(PhaseChanged, c => c.Message.Again && c.Message.Phase == VdiskRepairPhase.Running)
                .Then(Record)
                .TransitionTo(Running));
    }

    private void Record(BehaviorContext<VdiskRepairSaga, VdiskRepairPhaseChanged> c)
    {
        c.Saga.VdiskId = c.Message.VdiskId;
        c.Saga.Address = c.Message.Address;
        c.Saga.Incident = c.Message.Incident;
        c.Saga.IncidentTraceId ??= c.Message.IncidentTraceId;
        c.Saga.Kind = c.Message.Kind ?? c.Saga.Kind;
        var reason = c.Message.Again ? $"engine {c.Message.Address}: verification found it not repaired" : $"engine {c.Message.Address}";
        TransitionHistory.Append(c.Saga.History, new TransitionRecord(c.Saga.CurrentState, c.Message.Phase.ToString(), _time.GetUtcNow(),
            reason, c.Message.Incident, TransitionHistory.CurrentTraceId(), TransitionHistory.CurrentSpanId()), _historyLimit);
    }

    public State Pending { get; private set; } = null!;
    public State Running { get; private set; } = null!;
    public State Completed { get; private set; } = null!;

    public Event<VdiskRepairPhaseChanged> PhaseChanged { get; private set; } = null!;

    private static int Rank(VdiskRepairPhase phase) => (int)phase;

    private static int Rank(string state) => Enum.TryParse<VdiskRepairPhase>(state, out var phase) ? (int)phase : -1;
}
