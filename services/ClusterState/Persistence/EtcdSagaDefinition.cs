using MassTransit;
using ZeroDisk.ClusterState.Extensions;

namespace ZeroDisk.ClusterState.Persistence;

/// <summary>
/// What every saga endpoint here shares: a concurrency limit, the etcd conflict retry (another instance's commit
/// makes ours reload and run again), and a partitioner so one saga's events run one at a time in this process.
/// Patience while etcd is unreachable is every endpoint's (ServiceDefaults' EtcdUnavailableRetry, around this pipe).
/// Each saga only says how its messages map to a partition.
/// </summary>
public abstract class EtcdSagaDefinition<TSaga> : SagaDefinition<TSaga> where TSaga : class, ISaga
{
    private readonly ClusterStateOptions _options;

    protected EtcdSagaDefinition(ClusterStateOptions options)
    {
        _options = options;
        ConcurrentMessageLimit = options.ConcurrentMessageLimit;
    }

    protected sealed override void ConfigureSaga(IReceiveEndpointConfigurator endpointConfigurator, ISagaConfigurator<TSaga> sagaConfigurator,
        IRegistrationContext context)
    {
        sagaConfigurator.UseEtcdConflictRetry();
        // Each attempt gets its own outbox, inside the retries: what an attempt that lost its etcd compare published
        // is dropped with it. Without it the endpoint's one outbox sent the lost attempt's messages too — a phantom
        // incident, which the scheduler followed while the real one was never classified.
        sagaConfigurator.UseInMemoryOutbox(context);
        PartitionMessages(sagaConfigurator, endpointConfigurator.CreatePartitioner(_options.PartitionCount));
    }

    protected abstract void PartitionMessages(ISagaConfigurator<TSaga> saga, IPartitioner partition);
}
