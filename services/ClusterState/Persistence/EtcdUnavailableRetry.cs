using Grpc.Core;
using MassTransit;

namespace ZeroDisk.ClusterState.Persistence;

public static class EtcdUnavailableRetry
{
    /// <summary>How long a saga message waits for etcd to come back before it faults (then to the error queue).</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromMinutes(3);

    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);

    /// <summary>
    /// While etcd is unreachable a saga can neither load nor record anything: its message is retried here, every
    /// 2 s for up to <see cref="Patience"/>, instead of faulting after the endpoint's five quick retries (about 5 s).
    /// An etcd restart takes ~20 s on a loaded machine; a failure report faulted meanwhile would go to the error
    /// queue, and its engine would never get a saga, never go offline, and could not even be declared permanent
    /// (see docs/DECISIONS.md).
    /// </summary>
    public static void UseEtcdUnavailableRetry<TSaga>(this ISagaConfigurator<TSaga> saga) where TSaga : class, ISaga =>
        saga.UseMessageRetry(retry =>
        {
            retry.Handle<Exception>(IsEtcdUnavailable);
            retry.Interval((int)(Patience / Interval), Interval);
        });

    /// <summary>etcd (gRPC) unreachable or not answering, anywhere in the exception's chain (sagas wrap activity faults).</summary>
    public static bool IsEtcdUnavailable(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
            if (e is RpcException { StatusCode: StatusCode.Unavailable or StatusCode.DeadlineExceeded }) return true;
        return false;
    }
}
