using MassTransit;
using MassTransit.Context;
using MassTransit.Middleware;
using MassTransit.Saga;

namespace ZeroDisk.ClusterState.Persistence;

/// <summary>MassTransit's view of one message's saga unit of work, backed by an <see cref="EtcdSagaSession{TSaga}"/>.</summary>
public sealed class EtcdSagaRepositoryContext<TSaga, TMessage> : ConsumeContextScope<TMessage>, SagaRepositoryContext<TSaga, TMessage>
    where TSaga : class, ISaga
    where TMessage : class
{
    private readonly EtcdSagaSession<TSaga> session;
    private readonly ConsumeContext<TMessage> context;
    private readonly ISagaConsumeContextFactory<EtcdSagaSession<TSaga>, TSaga> factory;

    public EtcdSagaRepositoryContext(EtcdSagaSession<TSaga> session, ConsumeContext<TMessage> context,
        ISagaConsumeContextFactory<EtcdSagaSession<TSaga>, TSaga> factory)
        : base(context)
    {
        this.session = session;
        this.context = context;
        this.factory = factory;
    }

    public Task<SagaConsumeContext<TSaga, TMessage>> Add(TSaga instance) =>
        factory.CreateSagaConsumeContext(session, context, instance, SagaConsumeContextMode.Add);

    public async Task<SagaConsumeContext<TSaga, TMessage>> Insert(TSaga instance)
    {
        try
        {
            await session.CommitAsync(instance, messageId: null, context.CancellationToken);
            return await factory.CreateSagaConsumeContext(session, context, instance, SagaConsumeContextMode.Insert);
        }
        catch (EtcdSagaConcurrencyException)
        {
            return default!; // already there: MassTransit loads it instead
        }
    }

    public async Task<SagaConsumeContext<TSaga, TMessage>> Load(Guid correlationId)
    {
        var instance = await session.LoadAsync(correlationId, context.CancellationToken);
        return instance is null ? default! : await factory.CreateSagaConsumeContext(session, context, instance, SagaConsumeContextMode.Load);
    }

    public Task Save(SagaConsumeContext<TSaga> sagaContext) => session.CommitAsync(sagaContext.Saga, context.MessageId, context.CancellationToken);

    public Task Update(SagaConsumeContext<TSaga> sagaContext) => session.CommitAsync(sagaContext.Saga, context.MessageId, context.CancellationToken);

    public Task Delete(SagaConsumeContext<TSaga> sagaContext) => session.DeleteAsync(sagaContext.Saga, context.MessageId, context.CancellationToken);

    public Task Discard(SagaConsumeContext<TSaga> sagaContext) => Task.CompletedTask;

    public Task Undo(SagaConsumeContext<TSaga> sagaContext) => Task.CompletedTask;

    public Task<SagaConsumeContext<TSaga, T>> CreateSagaConsumeContext<T>(ConsumeContext<T> consumeContext, TSaga instance, SagaConsumeContextMode mode)
        where T : class =>
        factory.CreateSagaConsumeContext(session, consumeContext, instance, mode);
}

/// <summary>Loads outside a message (MassTransit's ILoadSagaRepository).</summary>
public sealed class EtcdLoadSagaRepositoryContext<TSaga>(EtcdSagaSession<TSaga> session, CancellationToken cancellationToken)
    : BasePipeContext(cancellationToken), LoadSagaRepositoryContext<TSaga>
    where TSaga : class, ISaga
{
    public async Task<TSaga> Load(Guid correlationId) => (await session.LoadAsync(correlationId, CancellationToken))!;
}
