using MassTransit;
using ZeroDisk.ClusterState.Extensions;
using ZeroDisk.ClusterState.Persistence;

namespace ZeroDisk.ClusterState.VdiskRepairs;

public sealed class VdiskRepairSagaDefinition(ClusterStateOptions options) : EtcdSagaDefinition<VdiskRepairSaga>(options)
{
    protected override void PartitionMessages(ISagaConfigurator<VdiskRepairSaga> saga, IPartitioner partition)
    {
        saga.Message<VdiskRepairPhaseChanged>(m => m.UsePartitioner(partition, c => $"{c.Message.VdiskId}:{c.Message.Incident}"));
    }
}
