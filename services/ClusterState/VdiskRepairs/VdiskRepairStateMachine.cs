using MassTransit;
using ZeroDisk.ClusterState.Extensions;
using ZeroDisk.ClusterState.History;
using ZeroDisk.ClusterState.Identity;

namespace ZeroDisk.ClusterState.VdiskRepairs;

/// <summary>
/// Pending → Running → Completed for one vdisk and incident, or Pending/Running → Cancelled when the incident ends
/// without this repair (superseded by a newer incident, or the engine came back with nothing to repair). Phases only
/// move forward, so a late "running" after "completed" or "cancelled" (messages overtaking each other) changes
/// nothing; a cancellation of a repair that was never opened creates no saga.
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
        SetCompletedWhenFinalized();

        // Nothing was opened for this vdisk and incident: nothing to end, and no saga to store.
        During(Initial,
            When(PhaseChanged, c => c.Message.Phase == VdiskRepairPhase.Cancelled)
                .Finalize());

        During(Pending, Running,
            When(PhaseChanged, c => c.Message.Phase == VdiskRepairPhase.Cancelled)
                .Then(Record)
                .TransitionTo(Cancelled));

        During(Initial, Pending, Running,
            When(PhaseChanged, c => c.Message.Phase != VdiskRepairPhase.Cancelled && Rank(c.Message.Phase) > Rank(c.Saga.CurrentState))
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
        var reason = c.Message.Again ? $"engine {c.Message.Address}: verification found it not repaired"
            : c.Message.Reason is { } why ? $"engine {c.Message.Address}: {why}"
            : $"engine {c.Message.Address}";
        TransitionHistory.Append(c.Saga.History, new TransitionRecord(c.Saga.CurrentState, c.Message.Phase.ToString(), _time.GetUtcNow(),
            reason, c.Message.Incident, TransitionHistory.CurrentTraceId(), TransitionHistory.CurrentSpanId()), _historyLimit);
    }

    public State Pending { get; private set; } = null!;
    public State Running { get; private set; } = null!;
    public State Completed { get; private set; } = null!;
    public State Cancelled { get; private set; } = null!;

    public Event<VdiskRepairPhaseChanged> PhaseChanged { get; private set; } = null!;

    private static int Rank(VdiskRepairPhase phase) => (int)phase;

    private static int Rank(string state) => Enum.TryParse<VdiskRepairPhase>(state, out var phase) ? (int)phase : -1;
}
