using ZeroDisk.Contracts;

namespace ZeroDisk.ClusterState.StorageEngines;

/// <summary>The saga's state names and the engine state each one means in etcd.</summary>
public static class EngineStateNames
{
    public const string Online = nameof(Online);
    public const string Offline = nameof(Offline);
    public const string RepairingTmpOutage = nameof(RepairingTmpOutage);
    public const string RepairingFinalOutage = nameof(RepairingFinalOutage);
    public const string Rip = nameof(Rip);

    public static EngineState ToEngineState(string sagaState) => sagaState switch
    {
        Offline => EngineState.Offline,
        RepairingTmpOutage => EngineState.RepairTmpOutage,
        RepairingFinalOutage => EngineState.RepairFinalOutage,
        Rip => EngineState.Rip,
        _ => EngineState.Online, // Initial and Online: an engine nobody reported is in use
    };
}
