using System.Diagnostics.Metrics;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using ZeroDisk.ClusterState.Identity;
using ZeroDisk.ClusterState.Operability;
using ZeroDisk.ClusterState.Persistence;
using ZeroDisk.ClusterState.Topology;
using ZeroDisk.Contracts;

namespace ZeroDisk.ClusterState.StorageEngines;

/// <summary>
/// A failure is reported by every NBD server that saw it, and all reports but the first find the engine offline,
/// where a report changes nothing. Those are recorded as processed here, against the saga's current version, without
/// the saga's load, run and commit — a fraction of the work per report in a burst; when this process knows the saga's
/// value (it committed the engine's transition, or read it for an earlier report) that is one etcd transaction
/// comparing the value (<see cref="IgnoringSagaValues{TSaga}"/>). Which states ignore a report comes
/// from the state machine (<see cref="StorageEngineStateMachine.IgnoresFailureReports"/>); everything else, and a
/// report whose compare fails, goes on to the saga, with the read made here (<see cref="FirstSagaRead"/>) and the topology
/// read started beside it (<see cref="TopologyReadAhead"/>). Placed after the partitioner, so a report waits for the engine's
/// report before it and sees the state that one left.
/// </summary>
public sealed class IgnoredFailureReportFilter(IServiceProvider services) : IFilter<ConsumeContext<StorageEngineFailureReported>>
{
    public const string IgnoredName = "zerodisk.failure_reports.ignored";

    private static readonly Meter Meter = new(ClusterMetrics.MeterName);

    /// <summary>Reports settled without running the saga (Prometheus: <c>zerodisk_failure_reports_ignored_total</c>).</summary>
    private static readonly Counter<long> Ignored = Meter.CreateCounter<long>(IgnoredName,
        description: "failure reports settled without running the engine's saga: processed already, or the engine was offline, in a permanent repair or rip");

    public async Task Send(ConsumeContext<StorageEngineFailureReported> context, IPipe<ConsumeContext<StorageEngineFailureReported>> next)
    {
        if (context.MessageId is { } messageId)
        {
            await using var scope = services.CreateAsyncScope();
            var session = scope.ServiceProvider.GetRequiredService<EtcdSagaSession<StorageEngineSaga>>();
            var sagaId = SagaIds.Engine(context.Message.Address);
            var recorded = await session.TryRecordRememberedAsync(messageId, sagaId, context.CancellationToken);
            if (!recorded)
            {
                // Not known to be ignored: the report may start an incident, whose topology read goes out now.
                context.GetOrAddPayload(() => new TopologyReadAhead()).Start(services.GetRequiredService<ClusterTopology>(), context.CancellationToken);
                var firstRead = context.GetOrAddPayload(() => new FirstSagaRead());
                recorded = await session.TryRecordIgnoredAsync(messageId, sagaId, firstRead, context.CancellationToken);
            }
            if (recorded)
            {
                Ignored.Add(1);
                return;
            }
        }
        await next.Send(context);
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("ignoredFailureReports");
}
