using MassTransit;
using ZeroDisk.ClusterState.History;
using ZeroDisk.Contracts;

namespace ZeroDisk.ClusterState.StorageClusters;

/// <summary>One storage cluster, persisted at <c>zerodisk/sagas/storage-cluster/&lt;id&gt;</c>.</summary>
public sealed class StorageClusterSaga : SagaStateMachineInstance
{
    public Guid CorrelationId { get; set; }
    public string CurrentState { get; set; } = "Initial";
    public string ClusterId { get; set; } = "";
    /// <summary>The <c>&lt;clusterID&gt;:cluster:status</c> read when the last engine change arrived.</summary>
    public ClusterStatus Status { get; set; }
    /// <summary>The last engine change this saga saw per engine ("state@incident"); the reconciler republishes what it missed.</summary>
    public Dictionary<string, string> SeenEngineStates { get; set; } = new();
    public List<TransitionRecord> History { get; set; } = [];
}
