namespace ZeroDisk.Contracts;

/// <summary>
/// The read model of an engine's saga record (<c>zerodisk/sagas/storage-engine/&lt;id&gt;</c>, written by ClusterState
/// in the same etcd transaction as the engine's state): what NBD servers and zdctl read of it. An NBD server writes the
/// state and current incident into its repair completion lines, so a completion of an earlier incident is recognised;
/// zdctl shows since when, which incident and the transitions. ClusterState's tests check it reads what the saga writes.
/// </summary>
public sealed record EngineSagaRecord
{
    public const string SagaType = "storage-engine";
    public const string Online = nameof(Online);
    public const string Offline = nameof(Offline);
    public const string RepairingTmpOutage = nameof(RepairingTmpOutage);
    public const string RepairingFinalOutage = nameof(RepairingFinalOutage);
    public const string Rip = nameof(Rip);

    public string CurrentState { get; init; } = "";
    public string? Incident { get; init; }
    public string Address { get; init; } = "";
    public string? ClusterId { get; init; }
    public string? IncidentTraceId { get; init; }
    public DateTimeOffset StateEnteredAt { get; init; }
    public OutageKind? Outage { get; init; }
    public List<string> AffectedVdisks { get; init; } = [];
    public List<string> CompletedVdisks { get; init; } = [];
    public List<SagaTransition> History { get; init; } = [];

    public static string Key(string address) => EtcdKeys.Saga(SagaType, NameBasedIds.Engine(address).ToString("D"));

    /// <summary>The saga state in which a repair of <paramref name="kind"/> runs.</summary>
    public static string RepairingState(RepairKind kind) => kind == RepairKind.Tmp ? RepairingTmpOutage : RepairingFinalOutage;

    /// <summary>The engine state a saga state means in etcd.</summary>
    public static EngineState ToEngineState(string sagaState) => sagaState switch
    {
        Offline => EngineState.Offline,
        RepairingTmpOutage => EngineState.RepairTmpOutage,
        RepairingFinalOutage => EngineState.RepairFinalOutage,
        Rip => EngineState.Rip,
        _ => EngineState.Online, // Initial and Online: an engine nobody reported is in use
    };
}

/// <summary>One transition in a saga's history: saga state names, when, why, and the incident's trace.</summary>
public sealed record SagaTransition(string From, string To, DateTimeOffset At, string Reason, string? Incident, string? TraceId);

/// <summary>The read model of a vdisk repair saga (<c>zerodisk/sagas/vdisk-repair/&lt;id&gt;</c>): which repair, in which phase.</summary>
public sealed record VdiskRepairRecord
{
    public const string SagaType = "vdisk-repair";
    public const string Pending = nameof(Pending);
    public const string Completed = nameof(Completed);

    public string CurrentState { get; init; } = "";
    public string VdiskId { get; init; } = "";
    public string Address { get; init; } = "";
    public string Incident { get; init; } = "";
}
