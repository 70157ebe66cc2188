using MassTransit;
using ZeroDisk.ClusterState.Extensions;
using ZeroDisk.ClusterState.Persistence;
using ZeroDisk.Contracts;

namespace ZeroDisk.ClusterState.StorageEngines;

/// <summary>
/// One engine's events run one at a time in this process (partitioned by address); between instances the etcd
/// version compare fails and the message is retried from a fresh load.
/// </summary>
public sealed class StorageEngineSagaDefinition : SagaDefinition<StorageEngineSaga>
{
    private readonly ClusterStateOptions _options;

    public StorageEngineSagaDefinition(ClusterStateOptions options)
    {
        _options = options;
        ConcurrentMessageLimit = options.ConcurrentMessageLimit;
    }

    protected override void ConfigureSaga(IReceiveEndpointConfigurator endpointConfigurator, ISagaConfigurator<StorageEngineSaga> sagaConfigurator,
        IRegistrationContext context)
    {
        sagaConfigurator.UseEtcdConflictRetry();
        var partition = endpointConfigurator.CreatePartitioner(_options.PartitionCount);
        sagaConfigurator.Message<StorageEngineFailureReported>(m => m.UsePartitioner(partition, c => c.Message.Address));
        sagaConfigurator.Message<OutageClassified>(m => m.UsePartitioner(partition, c => c.Message.Address));
        sagaConfigurator.Message<DeclareOutage>(m => m.UsePartitioner(partition, c => c.Message.Address));
        sagaConfigurator.Message<VdiskRepairCompleted>(m => m.UsePartitioner(partition, c => c.Message.Address));
    }
}
