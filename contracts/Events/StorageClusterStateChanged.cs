namespace ZeroDisk.Contracts;

/// <summary>ClusterState committed a new cluster status to etcd.</summary>
public record StorageClusterStateChanged
{
    public required string ClusterId { get; init; }
    public required ClusterStatus Status { get; init; }
    public required DateTimeOffset At { get; init; }
}
