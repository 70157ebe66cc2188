using ZeroDisk.ClusterState.Identity;
using ZeroDisk.ClusterState.Persistence;
using ZeroDisk.ClusterState.StorageClusters;

namespace ZeroDisk.ClusterState.Tests.Scenarios;

/// <summary>A reconciler re-derives state from etcd periodically and republishes what is missing.</summary>
public sealed class When_the_reconciler_finds_drift
{
    [Fact]
    public async Task It_restores_the_cluster_status_and_republishes_a_missed_engine_change()
    {
        await using var deployment = await ClusterStateDeployment.CreateAsync();
        await deployment.StartInProcessAsync(["--ClusterState:ReconcileInterval=00:00:01"]);
        var engine = deployment.NewEngineAddress();
        var clusterId = await deployment.SeedClusterAsync("c1", engine, deployment.NewEngineAddress());
        await deployment.ReportFailureAsync(engine);
        await deployment.WaitForEngineAsync(clusterId, engine, EngineState.Offline);
        await Eventually.UntilAsync(async () => (await deployment.ClusterSagaAsync(clusterId))?.CurrentState == "Repairing", "the cluster saga is repairing");

        // Someone wrote "healthy" although an engine is offline: the engines' states win.
        await deployment.Etcd.PutAsync(EtcdKeys.ClusterStatus(clusterId), ClusterStatus.Healthy.ToWire());
        await deployment.WaitForClusterAsync(clusterId, ClusterStatus.Repairing);

        // The cluster saga lost the engine's announcement (as after a crash between the etcd commit and the publish).
        await deployment.Etcd.DeleteAsync(EtcdSagaSession<StorageClusterSaga>.Key(SagaIds.Cluster(clusterId)));
        await Eventually.UntilAsync(async () => (await deployment.ClusterSagaAsync(clusterId))?.CurrentState == "Repairing",
            "the republished change rebuilt the cluster saga");
        var cluster = await deployment.ClusterSagaAsync(clusterId);
        Assert.StartsWith("offline@", cluster!.SeenEngineStates[engine]);
    }
}
