namespace ZeroDisk.Contracts;

/// <summary>
/// What an NBD server reads of an engine's saga record (<c>zerodisk/sagas/storage-engine/&lt;id&gt;</c>, written by
/// ClusterState in the same etcd transaction as the engine's state): its state and current incident, which the server
/// writes into its repair completion lines so a completion of an earlier incident is recognised (DESIGN §3 invariant 6).
/// </summary>
public sealed record EngineSagaRecord
{
    public const string SagaType = "storage-engine";
    public const string RepairingTmpOutage = nameof(RepairingTmpOutage);
    public const string RepairingFinalOutage = nameof(RepairingFinalOutage);

    public string CurrentState { get; init; } = "";
    public string? Incident { get; init; }

    public static string Key(string address) => EtcdKeys.Saga(SagaType, NameBasedIds.Engine(address).ToString("D"));

    /// <summary>The saga state in which a repair of <paramref name="kind"/> runs.</summary>
    public static string RepairingState(RepairKind kind) => kind == RepairKind.Tmp ? RepairingTmpOutage : RepairingFinalOutage;
}
