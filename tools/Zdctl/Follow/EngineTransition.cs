using System.Text.Json;
using ZeroDisk.Contracts;

namespace ZeroDisk.Zdctl.Follow;

/// <summary>One state change of one engine, as its saga recorded it, in the wire names NBD servers see in etcd.</summary>
public sealed record EngineTransition(DateTimeOffset At, string Engine, string? Cluster, EngineState From, EngineState To, string? Incident, string? TraceId, string Reason)
{
    public static EngineTransition Of(EngineSagaRecord saga, SagaTransition record) =>
        new(record.At, saga.Address, saga.ClusterId, EngineSagaRecord.ToEngineState(record.From), EngineSagaRecord.ToEngineState(record.To),
            record.Incident, record.TraceId, record.Reason);

    /// <summary>One line: time, engine, from -> to, incident, trace, why.</summary>
    public string ToLine() =>
        $"{At.UtcDateTime:yyyy-MM-ddTHH:mm:ss.fffZ}  {Engine} ({Cluster ?? "-"})  {From.ToWire()} -> {To.ToWire()}  incident {Incident ?? "-"}  trace {TraceId ?? "-"}  ({Reason})";

    public string ToJson() => JsonSerializer.Serialize(this, ZeroDiskJson.Options);
}
