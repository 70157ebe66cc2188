using MassTransit;
using ZeroDisk.ClusterState.Extensions;
using ZeroDisk.ClusterState.Persistence;

namespace ZeroDisk.ClusterState.VdiskRepairs;

public sealed class VdiskRepairSagaDefinition : SagaDefinition<VdiskRepairSaga>
{
    private readonly ClusterStateOptions _options;

    public VdiskRepairSagaDefinition(ClusterStateOptions options)
    {
        _options = options;
        ConcurrentMessageLimit = options.ConcurrentMessageLimit;
    }

    protected override void ConfigureSaga(IReceiveEndpointConfigurator endpointConfigurator, ISagaConfigurator<VdiskRepairSaga> sagaConfigurator,
        IRegistrationContext context)
    {
        sagaConfigurator.UseEtcdConflictRetry();
        var partition = endpointConfigurator.CreatePartitioner(_options.PartitionCount);
        sagaConfigurator.Message<VdiskRepairPhaseChanged>(m => m.UsePartitioner(partition, c => $"{c.Message.VdiskId}:{c.Message.Incident}"));
    }
}
