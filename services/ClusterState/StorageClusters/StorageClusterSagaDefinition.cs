using MassTransit;
using ZeroDisk.ClusterState.Extensions;
using ZeroDisk.ClusterState.Persistence;
using ZeroDisk.Contracts;

namespace ZeroDisk.ClusterState.StorageClusters;

public sealed class StorageClusterSagaDefinition(ClusterStateOptions options) : EtcdSagaDefinition<StorageClusterSaga>(options)
{
    protected override void PartitionMessages(ISagaConfigurator<StorageClusterSaga> saga, IPartitioner partition)
    {
        saga.Message<StorageEngineStateChanged>(m => m.UsePartitioner(partition, c => c.Message.ClusterId));
    }
}
