using MassTransit;
using MassTransit.Saga;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ZeroDisk.ClusterState.Persistence;

/// <summary>
/// The etcd saga repository (MassTransit 8's repository context factory). A message already recorded as processed
/// for this saga type is acknowledged without running the saga again: redeliveries and duplicates from several
/// collectors change nothing.
/// </summary>
public sealed class EtcdSagaRepositoryContextFactory<TSaga>(
    IServiceProvider services,
    ISagaConsumeContextFactory<EtcdSagaSession<TSaga>, TSaga> factory,
    ILogger<EtcdSagaRepositoryContextFactory<TSaga>> logger)
    : ISagaRepositoryContextFactory<TSaga>, ILoadSagaRepositoryContextFactory<TSaga>
    where TSaga : class, ISaga
{
    public async Task Send<T>(ConsumeContext<T> context, IPipe<SagaRepositoryContext<TSaga, T>> next) where T : class
    {
        var session = services.GetRequiredService<EtcdSagaSession<TSaga>>();
        context.TryGetPayload<FirstSagaRead>(out var firstRead);
        if (await session.WasProcessedAsync(context.MessageId, context.CorrelationId, firstRead, context.CancellationToken))
        {
            logger.LogDebug("{MessageType} {MessageId} was already processed by {Saga}; skipped", typeof(T).Name, context.MessageId, typeof(TSaga).Name);
            return;
        }
        await next.Send(new EtcdSagaRepositoryContext<TSaga, T>(session, context, factory));
    }

    public Task SendQuery<T>(ConsumeContext<T> context, ISagaQuery<TSaga> query, IPipe<SagaRepositoryQueryContext<TSaga, T>> next) where T : class =>
        throw new NotSupportedException("The etcd saga repository correlates by id only; use CorrelateById");

    public async Task<TResult> Execute<TResult>(Func<LoadSagaRepositoryContext<TSaga>, Task<TResult>> asyncMethod, CancellationToken cancellationToken = default)
        where TResult : class =>
        await asyncMethod(new EtcdLoadSagaRepositoryContext<TSaga>(services.GetRequiredService<EtcdSagaSession<TSaga>>(), cancellationToken));

    public void Probe(ProbeContext context) => context.Add("persistence", "etcd");
}
