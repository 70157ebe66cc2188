using MassTransit;
using MassTransit.Configuration;
using MassTransit.Saga;
using Microsoft.Extensions.DependencyInjection;

namespace ZeroDisk.ClusterState.Persistence;

public static class EtcdSagaRepositoryRegistration
{
    /// <summary>Persist this saga in etcd under <c>zerodisk/sagas/&lt;type&gt;/&lt;id&gt;</c> with optimistic concurrency.</summary>
    public static ISagaRegistrationConfigurator<TSaga> EtcdRepository<TSaga>(this ISagaRegistrationConfigurator<TSaga> configurator)
        where TSaga : class, ISaga
    {
        configurator.Repository(registration =>
        {
            registration.AddScoped<EtcdSagaSession<TSaga>>();
            registration.RegisterLoadSagaRepository<TSaga, EtcdSagaRepositoryContextFactory<TSaga>>();
            registration.RegisterSagaRepository<TSaga, EtcdSagaSession<TSaga>, SagaConsumeContextFactory<EtcdSagaSession<TSaga>, TSaga>,
                EtcdSagaRepositoryContextFactory<TSaga>>();
        });
        return configurator;
    }
}
