using System.Diagnostics;
using dotnet_etcd;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ZeroDisk.ClusterState.Extensions;
using ZeroDisk.ClusterState.VdiskRepairs;
using ZeroDisk.Contracts;

namespace ZeroDisk.ClusterState.Rehearsal;

/// <summary>
/// Runs one failure report through the sagas at start-up, before the service says it is ready: the report path runs
/// only during incidents, so without this the first incident after a start paid for the JIT and cold caches — its
/// first reports took 0.4–0.65 s instead of ~12 ms (RESULTS, session 13). The rehearsal reports an engine of its own
/// deployment (<see cref="RehearsalDeployment"/>) on a private in-memory bus (<see cref="RehearsalBus"/>) with fenced
/// commits (<see cref="RehearsalFence"/>), and follows what the report causes: the cluster saga's and the vdisk repair
/// saga's messages, then sends one message of its own through the broker (<see cref="BrokerRoundTrip"/>). Bounded by <see cref="Limit"/>; a rehearsal that fails or runs out of time is logged and the
/// service is ready anyway, as cold as before.
/// </summary>
public sealed class StartupRehearsal(IServiceProvider services, EtcdClient etcd, IBus bus, RehearsalReadiness readiness, ILogger<StartupRehearsal> logger)
    : BackgroundService
{
    public static readonly TimeSpan Limit = TimeSpan.FromSeconds(10);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield(); // start-up goes on meanwhile
        var clock = Stopwatch.StartNew();
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        bounded.CancelAfter(Limit);
        string? scope = null, engine = null;
        try
        {
            await RehearseAsync(d => (scope, engine) = (d.Scope, d.FailingEngine), bounded.Token);
            logger.LogInformation("Rehearsed a failure report at start-up in {Elapsed} ms", clock.ElapsedMilliseconds);
            readiness.Done(new RehearsalOutcome(true, clock.Elapsed, scope, engine, null));
        }
        catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
        {
            logger.LogWarning(ex, "The start-up rehearsal of a failure report did not finish ({Elapsed} ms, limit {Limit} s); the first incident runs cold",
                clock.ElapsedMilliseconds, Limit.TotalSeconds);
            readiness.Done(new RehearsalOutcome(false, clock.Elapsed, scope, engine, ex is OperationCanceledException ? $"not done within {Limit.TotalSeconds:0} s" : ex.Message));
        }
    }

    private async Task RehearseAsync(Action<RehearsalDeployment> started, CancellationToken ct)
    {
        await using var deployment = await RehearsalDeployment.WriteAsync(etcd, ct);
        started(deployment);
        await using var container = RehearsalBus.Compose(services, deployment);
        var rehearsalBus = container.GetRequiredService<IBusControl>();
        var consumed = new ConsumedTypes(typeof(StorageEngineFailureReported), typeof(StorageEngineStateChanged), typeof(VdiskRepairPhaseChanged));
        rehearsalBus.ConnectConsumeObserver(consumed);
        await rehearsalBus.StartAsync(ct);
        try
        {
            await rehearsalBus.Publish(new StorageEngineFailureReported
            {
                Address = deployment.FailingEngine,
                Source = new EventSource { Node = "clusterstate-rehearsal", Stream = "rehearsal", ObservedAt = DateTimeOffset.UtcNow },
            }, ct);
            await consumed.All.WaitAsync(ct);
            if (consumed.LastFault is { } fault) throw fault;
            // The service's own bus publishes these on the first transition: their exchanges are declared now (no message).
            await bus.GetPublishSendEndpoint<StorageEngineStateChanged>();
            await bus.GetPublishSendEndpoint<VdiskRepairPhaseChanged>();
            await BrokerRoundTrip.RunAsync(bus, services.GetRequiredService<ClusterStateOptions>().EndpointPrefix, ct);
        }
        finally
        {
            using var stopping = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await rehearsalBus.StopAsync(stopping.Token);
        }
    }
}
