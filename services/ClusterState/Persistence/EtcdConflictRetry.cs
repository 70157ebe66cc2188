using MassTransit;

namespace ZeroDisk.ClusterState.Persistence;

public static class EtcdConflictRetry
{
    /// <summary>
    /// A lost compare is retried at once from a fresh load (the session already waited a random few ms), many
    /// times: under contention every retry makes progress for someone. Other faults use the endpoint's retry.
    /// </summary>
    public static void UseEtcdConflictRetry<TSaga>(this ISagaConfigurator<TSaga> saga) where TSaga : class, ISaga =>
        saga.UseMessageRetry(retry =>
        {
            retry.Handle<EtcdSagaConcurrencyException>();
            retry.Immediate(50);
        });
}
