namespace ZeroDisk.ClusterState.Persistence;

/// <summary>
/// What a saga's state means outside the saga key (the engine state in the cluster config, the cluster status).
/// The repository adds it to the same etcd transaction as the saga itself, so both change together or not at all.
/// </summary>
public interface ISagaEtcdProjection<in TSaga>
{
    Task AddToAsync(EtcdTransaction transaction, TSaga saga, CancellationToken ct);
}
