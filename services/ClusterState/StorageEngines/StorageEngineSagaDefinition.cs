using MassTransit;
using ZeroDisk.ClusterState.Extensions;
using ZeroDisk.ClusterState.Persistence;
using ZeroDisk.Contracts;

namespace ZeroDisk.ClusterState.StorageEngines;

/// <summary>
/// One engine's events run one at a time in this process (partitioned by address); between instances the etcd
/// version compare fails and the message is retried from a fresh load. Reports the engine ignores where it stands
/// are recorded without running the saga (<see cref="IgnoredFailureReportFilter"/>).
/// </summary>
public sealed class StorageEngineSagaDefinition(ClusterStateOptions options, IServiceProvider services) : EtcdSagaDefinition<StorageEngineSaga>(options)
{
    protected override void PartitionMessages(ISagaConfigurator<StorageEngineSaga> saga, IPartitioner partition)
    {
        saga.Message<StorageEngineFailureReported>(m =>
        {
            m.UsePartitioner(partition, c => c.Message.Address);
            m.UseFilter(new IgnoredFailureReportFilter(services));
        });
        saga.Message<OutageClassified>(m => m.UsePartitioner(partition, c => c.Message.Address));
        saga.Message<DeclareOutage>(m => m.UsePartitioner(partition, c => c.Message.Address));
        saga.Message<VdiskRepairCompleted>(m => m.UsePartitioner(partition, c => c.Message.Address));
        saga.Message<RepairVerified>(m => m.UsePartitioner(partition, c => c.Message.Address));
    }
}
