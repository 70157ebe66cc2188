using System.Diagnostics;
using dotnet_etcd;
using MassTransit;
using Microsoft.Extensions.Logging;
using ZeroDisk.ClusterState.Extensions;
using ZeroDisk.ClusterState.Identity;
using ZeroDisk.ClusterState.Persistence;
using ZeroDisk.ClusterState.StorageClusters;
using ZeroDisk.ClusterState.StorageEngines;
using ZeroDisk.ClusterState.Topology;
using ZeroDisk.Contracts;
using ZeroDisk.ServiceDefaults.Telemetry;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.ClusterState.Reconciliation;

/// <summary>
/// Re-derives each cluster's status from its engines' states in etcd (an operator edit, a lost write) and
/// republishes engine changes the cluster saga never saw (a crash between the etcd commit and the publish). A change
/// younger than one reconcile interval is in flight, not lost; a lost one is republished inside the trace it happened
/// in, so one incident stays one trace.
/// </summary>
public sealed class Reconciler(
    EtcdClient etcd,
    ClusterTopology topology,
    SagaStore sagas,
    LastServingSideCheck lastSide,
    IBus bus,
    ClusterStateOptions options,
    TimeProvider time,
    ILogger<Reconciler> logger) : BackgroundService
{
    private static readonly ActivitySource Tracing = ZeroDiskTelemetry.CreateSource("ClusterState.Reconciler");

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.ReconcileInterval, time);
        try
        {
            do
            {
                try
                {
                    await ReconcileAsync(stoppingToken);
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    logger.LogWarning(ex, "reconciliation failed; next attempt in {Interval}", options.ReconcileInterval);
                }
            } while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // shutting down
        }
    }

    public async Task ReconcileAsync(CancellationToken ct)
    {
        foreach (var cluster in await topology.ClustersAsync(ct))
            await FixStatusAsync(cluster, ct);
        await RepublishMissedAsync(ct);
        await FollowUpRepairsAsync(ct);
    }

    /// <summary>
    /// Repairs waiting on something that may have been lost: a verification request nobody answered (the scheduler
    /// was down, the verdict was unverifiable) is sent again; a classification held while the shard had no serving
    /// side is released once the twin serves again.
    /// </summary>
    private async Task FollowUpRepairsAsync(CancellationToken ct)
    {
        var now = time.GetUtcNow();
        foreach (var engine in await sagas.ListAsync<StorageEngineSaga>(ct))
        {
            if (engine.ClusterId is null || engine.Incident is null || engine.History.Count == 0 || !engine.ClusterId.StartsWith(options.KeyScope, StringComparison.Ordinal)) continue;
            var repairing = engine.CurrentState is EngineStateNames.RepairingTmpOutage or EngineStateNames.RepairingFinalOutage;
            if (repairing && engine.AllVdisksCompleted && engine.VerificationRequestedAt is { } asked && now - asked >= options.ReconcileInterval)
            {
                using var activity = Tracing.StartActivity("request repair verification again", ActivityKind.Producer, engine.History[^1].TraceContext());
                logger.LogInformation("engine {Address}: no verdict on incident {Incident}'s repair since {Asked}; asking again", engine.Address, engine.Incident, asked);
                await bus.Publish(StorageEngineStateMachine.VerificationRequest(engine, now), ct);
            }
            if (engine.CurrentState == EngineStateNames.Offline && engine.HeldOutage is { } held)
            {
                var twinServes = (await lastSide.DownTwinsAsync(engine.Address, ct)).Count == 0;
                // A temporary one is offered again while no twin serves: the engine may be the shard's complete side,
                // which its twins' dirty sets show once they answer (the held twin of it waits for it).
                if (!twinServes && held != OutageKind.Temporary) continue;
                using var activity = Tracing.StartActivity("release held classification", ActivityKind.Producer, engine.History[^1].TraceContext());
                if (twinServes)
                    logger.LogWarning("engine {Address}: its twin serves again; releasing the {Kind} classification held while the shard had no serving side", engine.Address, held.ToWire());
                else
                    logger.LogInformation("engine {Address}: no twin serves its shard; offering its held temporary classification again (is it the complete side?)", engine.Address);
                await bus.Publish(new OutageClassified
                {
                    Address = engine.Address, Kind = held, Incident = engine.Incident,
                    Reason = twinServes ? "held while the shard had no serving side; released once its twin served again"
                        : "held while the shard had no serving side; offered again while no twin serves",
                }, ct);
            }
        }
    }

    private async Task FixStatusAsync(ClusterEntry cluster, CancellationToken ct)
    {
        var statusKey = EtcdKeys.ClusterStatus(cluster.ClusterId);
        var status = await etcd.GetAsync(statusKey, ct);
        var derived = ClusterHealth.Derive(cluster.Config);
        if (status?.Value.ToStringUtf8() == derived.ToWire()) return;
        var committed = await new EtcdTransaction()
            .ExpectModRevision(EtcdKeys.StorageClusterConfig(cluster.ClusterId), cluster.ModRevision)
            .ExpectModRevision(statusKey, status?.ModRevision ?? 0)
            .Put(statusKey, derived.ToWire())
            .CommitAsync(etcd, ct);
        if (!committed) return; // something changed meanwhile; the next round looks again
        logger.LogWarning("cluster {ClusterId}: status was {Old}, engines say {New}; corrected", cluster.ClusterId, status?.Value.ToStringUtf8() ?? "(none)", derived.ToWire());
        await bus.Publish(new StorageClusterStateChanged { ClusterId = cluster.ClusterId, Status = derived, At = time.GetUtcNow() }, ct);
    }

    private async Task RepublishMissedAsync(CancellationToken ct)
    {
        var scope = options.KeyScope;
        foreach (var engine in await sagas.ListAsync<StorageEngineSaga>(ct))
        {
            if (engine.ClusterId is null || engine.Incident is null || engine.History.Count == 0 || !engine.ClusterId.StartsWith(scope, StringComparison.Ordinal)) continue;
            var state = EngineStateNames.ToEngineState(engine.CurrentState);
            var cluster = await sagas.GetAsync<StorageClusterSaga>(SagaIds.Cluster(engine.ClusterId), ct);
            if (cluster?.SeenEngineStates.GetValueOrDefault(engine.Address) == StorageClusterStateMachine.SeenKey(state, engine.Incident)) continue;
            if (time.GetUtcNow() - engine.StateEnteredAt < options.ReconcileInterval) continue; // still on its way
            var last = engine.History[^1];
            using var activity = Tracing.StartActivity("republish missed transition", ActivityKind.Producer, last.TraceContext());
            logger.LogInformation("engine {Address}: republishing {State} for incident {Incident}", engine.Address, state.ToWire(), engine.Incident);
            await bus.Publish(new StorageEngineStateChanged
            {
                ClusterId = engine.ClusterId,
                Address = engine.Address,
                From = EngineStateNames.ToEngineState(last.From),
                To = state,
                Incident = engine.Incident,
                At = engine.StateEnteredAt,
            }, ct);
        }
    }
}
