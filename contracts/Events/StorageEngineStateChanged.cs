namespace ZeroDisk.Contracts;

/// <summary>ClusterState committed a new engine state to etcd.</summary>
public record StorageEngineStateChanged
{
    public required string ClusterId { get; init; }
    public required string Address { get; init; }
    public required EngineState From { get; init; }
    public required EngineState To { get; init; }
    public required string Incident { get; init; }
    public required DateTimeOffset At { get; init; }
}
