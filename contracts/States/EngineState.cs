using System.Text.Json.Serialization;

namespace ZeroDisk.Contracts;

/// <summary>The state of one storage engine, as stored in etcd and obeyed by every NBD server.</summary>
[JsonConverter(typeof(WireEnumConverter<EngineState>))]
public enum EngineState
{
    [WireName("online")] Online,
    [WireName("offline")] Offline,
    [WireName("repair-tmp-outage")] RepairTmpOutage,
    [WireName("repair-final-outage")] RepairFinalOutage,
    [WireName("rip")] Rip,
}
