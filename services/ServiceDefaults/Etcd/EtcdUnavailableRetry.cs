using Grpc.Core;
using MassTransit;

namespace ZeroDisk.ServiceDefaults.Etcd;

/// <summary>
/// While etcd is unreachable no consumer that reads or records state can do its work: its message waits here,
/// retried 1, 2, 4, 8 s apart and then every 10 s, instead of faulting into the error queue after the endpoint's five
/// quick retries (about 5 s). Every endpoint of every service gets it (<see cref="Messaging.MessagingExtensions"/>):
/// ClusterState's sagas and the scheduler's consumers alike. The fault checker's seed 1000 showed why,
/// twice: etcd SIGKILLed and back in ~20 s on a loaded machine, first ClusterState's failure reports, then the
/// scheduler's repair completions and engine transitions went to error queues, and the repair they belonged to
/// never finished.
/// <para>
/// The wait has no practical end (<see cref="Patience"/>, a day): a message that faulted after a shorter one would sit in
/// an error queue, i.e. be lost to the system, after an etcd outage only a little longer. Waiting costs nothing that
/// matters: the message stays unacknowledged, so a process that stops or dies meanwhile leaves it to the broker, which
/// delivers it again (to this process after a restart, or to another instance). A message handled twice that way (or
/// published twice) must be, and is, harmless: every consumer that waits here is idempotent against etcd's record
/// (a saga's processed-message lease, the scheduler's compare-and-set work records).
/// </para>
/// </summary>
public static class EtcdUnavailableRetry
{
    private static readonly TimeSpan[] Backoff = [.. new[] { 1, 2, 4, 8 }.Select(s => TimeSpan.FromSeconds(s))];
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);

    /// <summary>How long a message waits for etcd in all before it faults: a day, longer than any outage one waits out.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromDays(1);

    /// <summary>The waits between attempts, one array for the policy's lifetime (MassTransit takes them as an array).</summary>
    private static readonly TimeSpan[] Intervals =
        [.. Backoff, .. Enumerable.Repeat(Interval, (int)((Patience - Backoff.Aggregate(TimeSpan.Zero, (a, b) => a + b)) / Interval))];

    /// <summary>Retries a message on this endpoint (or saga) while etcd is unavailable; any other fault passes through.</summary>
    public static void UseEtcdUnavailableRetry(this IConsumePipeConfigurator endpoint) => endpoint.UseMessageRetry(Configure);

    /// <summary>The policy itself: only etcd's unavailability, waited out for up to <see cref="Patience"/>.</summary>
    public static void Configure(IRetryConfigurator retry)
    {
        retry.Handle<Exception>(IsEtcdUnavailable);
        retry.Intervals(Intervals);
    }

    /// <summary>etcd (gRPC) unreachable or not answering, anywhere in the exception's chain (sagas wrap activity faults).</summary>
    public static bool IsEtcdUnavailable(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
            if (e is RpcException { StatusCode: StatusCode.Unavailable or StatusCode.DeadlineExceeded }) return true;
        return false;
    }
}
