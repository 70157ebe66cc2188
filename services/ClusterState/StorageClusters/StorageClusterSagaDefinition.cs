using MassTransit;
using ZeroDisk.ClusterState.Extensions;
using ZeroDisk.ClusterState.Persistence;
using ZeroDisk.Contracts;

namespace ZeroDisk.ClusterState.StorageClusters;

public sealed class StorageClusterSagaDefinition : SagaDefinition<StorageClusterSaga>
{
    private readonly ClusterStateOptions _options;

    public StorageClusterSagaDefinition(ClusterStateOptions options)
    {
        _options = options;
        ConcurrentMessageLimit = options.ConcurrentMessageLimit;
    }

    protected override void ConfigureSaga(IReceiveEndpointConfigurator endpointConfigurator, ISagaConfigurator<StorageClusterSaga> sagaConfigurator,
        IRegistrationContext context)
    {
        sagaConfigurator.UseEtcdConflictRetry();
        var partition = endpointConfigurator.CreatePartitioner(_options.PartitionCount);
        sagaConfigurator.Message<StorageEngineStateChanged>(m => m.UsePartitioner(partition, c => c.Message.ClusterId));
    }
}
