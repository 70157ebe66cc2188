using ZeroDisk.Contracts;

namespace ZeroDisk.ClusterState.StorageEngines;

/// <summary>The saga's state names and the engine state each one means in etcd.</summary>
public static class EngineStateNames
{
    public const string Online = EngineSagaRecord.Online;
    public const string Offline = EngineSagaRecord.Offline;
    public const string RepairingTmpOutage = EngineSagaRecord.RepairingTmpOutage;
    public const string RepairingFinalOutage = EngineSagaRecord.RepairingFinalOutage;
    public const string Rip = EngineSagaRecord.Rip;

    public static EngineState ToEngineState(string sagaState) => EngineSagaRecord.ToEngineState(sagaState);
}
