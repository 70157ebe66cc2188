using dotnet_etcd;
using MassTransit;
using ZeroDisk.Contracts;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.ClusterState.Persistence;

/// <summary>Reads saga instances outside a message (admin API, reconciler).</summary>
public sealed class SagaStore(EtcdClient etcd)
{
    public async Task<IReadOnlyList<TSaga>> ListAsync<TSaga>(CancellationToken ct) where TSaga : class, ISaga
    {
        var kvs = await etcd.GetPrefixAsync(EtcdKeys.SagaPrefix(SagaTypeNames.Of<TSaga>()), ct);
        return kvs.Select(kv => EtcdSagaSession<TSaga>.Deserialize(kv.Value.ToStringUtf8())).ToList();
    }

    public async Task<TSaga?> GetAsync<TSaga>(Guid correlationId, CancellationToken ct) where TSaga : class, ISaga =>
        await etcd.GetAsync(EtcdSagaSession<TSaga>.Key(correlationId), ct) is { } kv ? EtcdSagaSession<TSaga>.Deserialize(kv.Value.ToStringUtf8()) : null;
}
