using MassTransit;
using ZeroDisk.ClusterState.Extensions;
using ZeroDisk.ClusterState.History;
using ZeroDisk.ClusterState.Identity;
using ZeroDisk.ClusterState.Topology;
using ZeroDisk.ClusterState.VdiskRepairs;
using ZeroDisk.Contracts;

namespace ZeroDisk.ClusterState.StorageEngines;

/// <summary>
/// The life of one storage engine: Online → Offline → RepairingTmpOutage → Online,
/// Offline → RepairingFinalOutage → Rip, and back to Offline on a fresh failure during a temporary repair.
/// Every transition is committed to etcd by the saga repository together with its projection (engine state,
/// cluster status) and the processed-MessageId record; events that change nothing are ignored.
/// </summary>
public sealed class StorageEngineStateMachine : MassTransitStateMachine<StorageEngineSaga>
{
    private readonly ClusterTopology _topology;
    private readonly TimeProvider _time;
    private readonly int _historyLimit;
    private readonly bool _requireVerification;
    private readonly LastServingSideCheck _lastSide;

    public StorageEngineStateMachine(ClusterTopology topology, LastServingSideCheck lastSide, TimeProvider time, ClusterStateOptions options)
    {
        _topology = topology;
        _lastSide = lastSide;
        _time = time;
        _historyLimit = options.HistoryLimit;
        _requireVerification = options.RequireRepairVerification;

        InstanceState(x => x.CurrentState);
        Event(() => FailureReported, x => x.CorrelateById(c => SagaIds.Engine(c.Message.Address)));
        Event(() => OutageClassified, x => { x.CorrelateById(c => SagaIds.Engine(c.Message.Address)); x.OnMissingInstance(m => m.Discard()); });
        Event(() => OutageDeclared, x => { x.CorrelateById(c => SagaIds.Engine(c.Message.Address)); x.OnMissingInstance(m => m.Discard()); });
        Event(() => RepairCompleted, x => { x.CorrelateById(c => SagaIds.Engine(c.Message.Address)); x.OnMissingInstance(m => m.Discard()); });
        Event(() => RepairVerified, x => { x.CorrelateById(c => SagaIds.Engine(c.Message.Address)); x.OnMissingInstance(m => m.Discard()); });
        // Duplicates, stale reports and events for another state are expected (100 NBD servers report one failure).
        OnUnhandledEvent(x => x.Ignore());
        SetCompletedWhenFinalized();

        Initially(
            When(FailureReported)
                .ThenAsync(LocateAsync)
                .IfElse(c => c.Saga.ClusterId is not null,
                    known => GuardedIncident(known),
                    // An engine in no cluster this instance manages: nothing to record.
                    unknown => unknown.Finalize()));

        During(Online,
            When(FailureReported, IsFresh).ThenAsync(LocateAsync).IfElse(c => c.Saga.ClusterId is not null,
                known => GuardedIncident(known),
                unknown => unknown));

        During(Offline,
            When(OutageClassified, c => c.Message.Incident == c.Saga.Incident)
                .ThenAsync(async c => c.Saga.ServeAlone = await _lastSide.MayServeAloneAsync(c.Saga.Address, c.Message.Kind, c.Saga.ShardUnavailable is not null, c.CancellationToken))
                .IfElse(c => c.Saga.ServeAlone!.Outcome == ServeAloneOutcome.ServeAlone,
                    // The shard's complete side is back with its data (no twin holds a block it missed): nothing to copy to
                    // it, and no complete side to copy from. Its twins are repaired from it.
                    lastSide => Enter(lastSide.Then(c =>
                        {
                            c.Saga.Outage = OutageKind.Temporary;
                            c.Saga.ShardUnavailable = null;
                        }), Online, c => $"the shard's last serving side is back with its data ({c.Saga.ServeAlone!.Reason}): {c.Message.Reason}")
                        .ThenAsync(c => PublishPhasesAsync(c, VdiskRepairPhase.Cancelled, "back as its shard's last serving side with its data: nothing to repair")),
                    other => other.IfElse(c => c.Saga.ServeAlone!.Outcome != ServeAloneOutcome.TwinServes,
                        // Nothing is repaired from a side that is not complete: held until the twin serves again.
                        held => held.Then(c =>
                        {
                            c.Saga.HeldOutage = c.Message.Kind;
                            c.Saga.HeldBecause = c.Saga.ServeAlone!.Reason;
                        }),
                        // A twin serves (it may have come back first): the shard is available again.
                        free => free.Then(c => c.Saga.ShardUnavailable = null).IfElse(c => c.Message.Kind == OutageKind.Temporary,
                            tmp => BeginTmpRepair(tmp, c => $"classified temporary: {c.Message.Reason}"),
                            final => BeginFinalRepair(final, c => $"classified permanent: {c.Message.Reason}")))),
            When(OutageDeclared)
                .IfElse(c => c.Message.Kind == OutageKind.Temporary,
                    tmp => BeginTmpRepair(tmp, c => $"declared temporary by {c.Message.Operator}"),
                    final => BeginFinalRepair(final, c => $"declared permanent by {c.Message.Operator}")));

        During(RepairingTmpOutage,
            When(FailureReported, IsFresh).ThenAsync(LocateAsync).IfElse(c => c.Saga.ClusterId is not null,
                known => GuardedIncident(known),
                unknown => unknown),
            When(RepairCompleted, c => Counts(c.Saga, c.Message, RepairKind.Tmp))
                .Then(c => c.Saga.CompletedVdisks.Add(c.Message.VdiskId))
                .Publish(c => Phase(c.Saga, c.Message.VdiskId, VdiskRepairPhase.Completed))
                .If(c => c.Saga.AllVdisksCompleted, done => Finish(done, Online, _ => "every affected vdisk completed its repair")),
            Verify(When(RepairVerified, c => IsVerdictOnCompletedRepair(c.Saga, c.Message)), Online),
            BeginFinalRepair(When(OutageClassified, c => c.Message.Incident == c.Saga.Incident && c.Message.Kind == OutageKind.Permanent),
                c => $"reclassified permanent: {c.Message.Reason}"),
            BeginFinalRepair(When(OutageDeclared, c => c.Message.Kind == OutageKind.Permanent),
                c => $"declared permanent by {c.Message.Operator}"));

        During(RepairingFinalOutage,
            When(RepairCompleted, c => Counts(c.Saga, c.Message, RepairKind.Final))
                .Then(c => c.Saga.CompletedVdisks.Add(c.Message.VdiskId))
                .Publish(c => Phase(c.Saga, c.Message.VdiskId, VdiskRepairPhase.Completed))
                .If(c => c.Saga.AllVdisksCompleted, done => Finish(done, Rip, _ => "every affected vdisk was respread")),
            Verify(When(RepairVerified, c => IsVerdictOnCompletedRepair(c.Saga, c.Message)), Rip));
    }

    public State Online { get; private set; } = null!;
    public State Offline { get; private set; } = null!;
    public State RepairingTmpOutage { get; private set; } = null!;
    public State RepairingFinalOutage { get; private set; } = null!;
    public State Rip { get; private set; } = null!;

    public Event<StorageEngineFailureReported> FailureReported { get; private set; } = null!;
    public Event<OutageClassified> OutageClassified { get; private set; } = null!;
    public Event<DeclareOutage> OutageDeclared { get; private set; } = null!;
    public Event<VdiskRepairCompleted> RepairCompleted { get; private set; } = null!;
    public Event<RepairVerified> RepairVerified { get; private set; } = null!;

    /// <summary>
    /// Whether the engine, in the state it is in, ignores every failure report: no activity for one in that state
    /// (offline, repairing a permanent outage, rip). Read from the transitions above, so a report handled in a new
    /// state is never skipped by <see cref="IgnoredFailureReportFilter"/>.
    /// </summary>
    public bool IgnoresFailureReports(StorageEngineSaga saga) =>
        States.FirstOrDefault(s => s.Name == saga.CurrentState) is { } state && !NextEvents(state).Contains(FailureReported);

    /// <summary>The scheduler's scan after every affected vdisk reported completion, for the current incident.</summary>
    private static bool IsVerdictOnCompletedRepair(StorageEngineSaga saga, RepairVerified message) =>
        message.Incident == saga.Incident && saga.AllVdisksCompleted;

    /// <summary>
    /// The final gate (ClusterState:RequireRepairVerification): clean → online / rip; otherwise the leftover vdisks
    /// are repaired again (their completions no longer count, their repair sagas run again).
    /// </summary>
    private EventActivityBinder<StorageEngineSaga, RepairVerified> Verify(EventActivityBinder<StorageEngineSaga, RepairVerified> binder, State done) =>
        binder.IfElse(c => c.Message.Clean,
            clean => Enter(clean, done, c => c.Message.Reason is { } why ? $"the repair was verified clean: {why}" : "the repair was verified clean"),
            dirty => dirty
                .Then(c => c.Saga.CompletedVdisks.RemoveAll(v => c.Message.LeftoverVdisks.Contains(v)))
                .ThenAsync(async c =>
                {
                    foreach (var vdisk in c.Message.LeftoverVdisks.Where(c.Saga.AffectedVdisks.Contains))
                        await c.Publish(Phase(c.Saga, vdisk, VdiskRepairPhase.Running) with { Again = true }, c.CancellationToken);
                }));

    /// <summary>
    /// Every affected vdisk completed: without verification the engine is done; with it (the default) the scheduler is
    /// asked to scan the engines first, and its clean <see cref="Contracts.RepairVerified"/> ends the repair.
    /// </summary>
    private EventActivityBinder<StorageEngineSaga, T> Finish<T>(EventActivityBinder<StorageEngineSaga, T> binder, State done,
        Func<BehaviorContext<StorageEngineSaga, T>, string> reason)
        where T : class =>
        binder.IfElse(_ => _requireVerification,
            verify => verify
                .Then(c => c.Saga.VerificationRequestedAt = _time.GetUtcNow())
                .Publish(c => VerificationRequest(c.Saga, c.Saga.VerificationRequestedAt!.Value)),
            unverified => Enter(unverified, done, reason));

    public static RepairVerificationRequested VerificationRequest(StorageEngineSaga saga, DateTimeOffset at) => new()
    {
        ClusterId = saga.ClusterId!,
        Address = saga.Address,
        Incident = saga.Incident!,
        Kind = saga.Outage == OutageKind.Permanent ? RepairKind.Final : RepairKind.Tmp,
        Vdisks = saga.AffectedVdisks,
        At = at,
        TraceParent = saga.History.Count > 0 && saga.History[^1] is { TraceId.Length: 32, SpanId.Length: 16 } last ? $"00-{last.TraceId}-{last.SpanId}-01" : null,
    };

    /// <summary>
    /// A report checked first when it would leave the shard with no serving side (<see cref="LastServingSideCheck"/>):
    /// refused if the engine answers, a new incident with the shard marked unavailable if neither side does.
    /// </summary>
    private EventActivityBinder<StorageEngineSaga, StorageEngineFailureReported> GuardedIncident(EventActivityBinder<StorageEngineSaga, StorageEngineFailureReported> binder) =>
        binder
            .ThenAsync(async c => c.Saga.ReportVerdict = await _lastSide.CheckAsync(c.Saga.Address, c.Saga.Topology, c.CancellationToken))
            .IfElse(c => c.Saga.ReportVerdict!.Outcome == LastSideOutcome.Refuse,
                refused => refused.Then(c => c.Saga.LastRefusedReport =
                    $"{_time.GetUtcNow():O} from {c.Message.Source.Node}/{c.Message.Source.Stream}: {c.Saga.ReportVerdict!.Reason}"),
                believed => BeginIncident(believed.Then(c => c.Saga.ShardUnavailable =
                        c.Saga.ReportVerdict!.Outcome == LastSideOutcome.ShardUnavailable ? c.Saga.ReportVerdict.Reason : null))
                    .If(c => c.Saga.ShardUnavailable is not null, unavailable => unavailable.Publish(c => new ShardUnavailable
                    {
                        ClusterId = c.Saga.ClusterId!,
                        Address = c.Saga.Address,
                        Incident = c.Saga.Incident!,
                        Reason = c.Saga.ShardUnavailable!,
                        At = c.Saga.StateEnteredAt,
                    })));

    /// <summary>
    /// A failure that happened before the engine entered its current state describes an older failure: judged by the
    /// line's own time (a backlog read late keeps it), else by when the collector read the line.
    /// </summary>
    private static bool IsFresh(BehaviorContext<StorageEngineSaga, StorageEngineFailureReported> c) =>
        (c.Message.Source.OccurredAt ?? c.Message.Source.ObservedAt) >= c.Saga.StateEnteredAt;

    /// <summary>A completion counts once, for an affected vdisk, of the current incident (or one carrying no incident).</summary>
    private static bool Counts(StorageEngineSaga saga, VdiskRepairCompleted message, RepairKind kind) =>
        message.Kind == kind
        && (message.Incident is null || message.Incident == saga.Incident)
        && saga.AffectedVdisks.Contains(message.VdiskId)
        && !saga.CompletedVdisks.Contains(message.VdiskId);

    private async Task LocateAsync(BehaviorContext<StorageEngineSaga, StorageEngineFailureReported> c)
    {
        c.Saga.Address = c.Message.Address;
        // An engine this instance cannot place (outside its key scope, or removed from its cluster) keeps what it had.
        // One read of the topology serves the location, the affected vdisks and the last-serving-side check.
        var readAhead = c.TryGetPayload<TopologyReadAhead>(out var ahead) ? ahead.Take() : null;
        var topology = c.Saga.Topology = await (readAhead ?? _topology.SnapshotAsync(c.CancellationToken));
        if (topology.ClusterOfEngine(c.Message.Address) is not { } cluster) return;
        c.Saga.ClusterId = cluster.ClusterId;
        c.Saga.AffectedVdisks = [.. topology.VdisksUsing(cluster.ClusterId)];
    }

    /// <summary>
    /// Offline with a new incident; every affected vdisk's repair is pending. The repairs the previous incident left
    /// unfinished (a fresh failure during its repair, or one after it ended with nothing to repair) are cancelled:
    /// nobody works on them any more, and /repairs or zdctl must not list them as open forever.
    /// </summary>
    private EventActivityBinder<StorageEngineSaga, StorageEngineFailureReported> BeginIncident(EventActivityBinder<StorageEngineSaga, StorageEngineFailureReported> binder) =>
        Enter(binder
                .ThenAsync(c => c.Saga.Incident is null ? Task.CompletedTask
                    : PublishPhasesAsync(c, VdiskRepairPhase.Cancelled, "superseded by a new failure", except: c.Saga.CompletedVdisks))
                .Then(c =>
                {
                    c.Saga.Incident = NewId.NextGuid().ToString("N");
                    c.Saga.IncidentTraceId = TransitionHistory.CurrentTraceId();
                    c.Saga.Outage = null;
                    c.Saga.VerificationRequestedAt = null;
                    c.Saga.CompletedVdisks = [];
                }),
                Offline, c => $"failure reported by {c.Message.Source.Node}/{c.Message.Source.Stream}")
            .ThenAsync(c => PublishPhasesAsync(c, VdiskRepairPhase.Pending));

    private EventActivityBinder<StorageEngineSaga, T> BeginTmpRepair<T>(EventActivityBinder<StorageEngineSaga, T> binder, Func<BehaviorContext<StorageEngineSaga, T>, string> reason)
        where T : class =>
        Enter(binder.Then(c =>
            {
                c.Saga.Outage = OutageKind.Temporary;
            }), RepairingTmpOutage, reason)
            .ThenAsync(c => PublishPhasesAsync(c, VdiskRepairPhase.Running))
            .If(c => c.Saga.AllVdisksCompleted, done => Finish(done, Online, _ => "no vdisk to repair"));

    private EventActivityBinder<StorageEngineSaga, T> BeginFinalRepair<T>(EventActivityBinder<StorageEngineSaga, T> binder, Func<BehaviorContext<StorageEngineSaga, T>, string> reason)
        where T : class =>
        Enter(binder.Then(c => BeginFinalRepairCore(c.Saga)), RepairingFinalOutage, reason)
            .ThenAsync(c => PublishPhasesAsync(c, VdiskRepairPhase.Running))
            .If(c => c.Saga.AllVdisksCompleted, done => Finish(done, Rip, _ => "no vdisk to respread"));

    /// <summary>A respread starts over: completions of a temporary repair do not move blocks to new homes.</summary>
    private static void BeginFinalRepairCore(StorageEngineSaga saga)
    {
        saga.Outage = OutageKind.Permanent;
        saga.CompletedVdisks = [];
    }

    /// <summary>
    /// One transition: history (with the trace id), entry time, new state, and the StorageEngineStateChanged event. A
    /// transition ends any held classification: it was held for the state left.
    /// </summary>
    private EventActivityBinder<StorageEngineSaga, T> Enter<T>(EventActivityBinder<StorageEngineSaga, T> binder, State state,
        Func<BehaviorContext<StorageEngineSaga, T>, string> reason)
        where T : class =>
        binder
            .Then(c =>
            {
                var at = _time.GetUtcNow();
                TransitionHistory.Append(c.Saga.History,
                    new TransitionRecord(c.Saga.CurrentState, state.Name, at, reason(c), c.Saga.Incident, TransitionHistory.CurrentTraceId(), TransitionHistory.CurrentSpanId()), _historyLimit);
                c.Saga.StateEnteredAt = at;
                c.Saga.HeldOutage = null;
                c.Saga.HeldBecause = null;
            })
            .TransitionTo(state)
            .Publish(c => new StorageEngineStateChanged
            {
                ClusterId = c.Saga.ClusterId!,
                Address = c.Saga.Address,
                From = EngineStateNames.ToEngineState(c.Saga.History[^1].From),
                To = EngineStateNames.ToEngineState(c.Saga.CurrentState),
                Incident = c.Saga.Incident!,
                At = c.Saga.StateEnteredAt,
            });

    private static async Task PublishPhasesAsync<T>(BehaviorContext<StorageEngineSaga, T> c, VdiskRepairPhase phase, string? reason = null,
        IReadOnlyCollection<string>? except = null) where T : class
    {
        foreach (var vdisk in c.Saga.AffectedVdisks.Where(v => except?.Contains(v) != true).ToList())
            await c.Publish(Phase(c.Saga, vdisk, phase) with { Reason = reason }, c.CancellationToken);
    }

    private static VdiskRepairPhaseChanged Phase(StorageEngineSaga saga, string vdisk, VdiskRepairPhase phase) => new()
    {
        Address = saga.Address,
        VdiskId = vdisk,
        Incident = saga.Incident!,
        IncidentTraceId = saga.IncidentTraceId,
        Phase = phase,
        Kind = saga.Outage switch { OutageKind.Temporary => RepairKind.Tmp, OutageKind.Permanent => RepairKind.Final, _ => null },
        At = DateTimeOffset.UtcNow,
    };
}
