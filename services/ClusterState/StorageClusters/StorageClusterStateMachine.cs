using dotnet_etcd;
using MassTransit;
using ZeroDisk.ClusterState.Extensions;
using ZeroDisk.ClusterState.History;
using ZeroDisk.ClusterState.Identity;
using ZeroDisk.ClusterState.Persistence;
using ZeroDisk.Contracts;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.ClusterState.StorageClusters;

/// <summary>
/// Healthy ↔ Repairing per cluster. The status key itself is written by the engine transition that changes it (in
/// the same etcd transaction); this saga follows it, keeps the history and announces StorageClusterStateChanged.
/// </summary>
public sealed class StorageClusterStateMachine : MassTransitStateMachine<StorageClusterSaga>
{
    private readonly EtcdClient _etcd;
    private readonly TimeProvider _time;
    private readonly int _historyLimit;

    public StorageClusterStateMachine(EtcdClient etcd, TimeProvider time, ClusterStateOptions options)
    {
        _etcd = etcd;
        _time = time;
        _historyLimit = options.HistoryLimit;

        InstanceState(x => x.CurrentState);
        Event(() => EngineChanged, x => x.CorrelateById(c => SagaIds.Cluster(c.Message.ClusterId)));
        OnUnhandledEvent(x => x.Ignore());

        During(Initial, Healthy, Repairing,
            When(EngineChanged)
                .Then(c =>
                {
                    c.Saga.ClusterId = c.Message.ClusterId;
                    c.Saga.SeenEngineStates[c.Message.Address] = SeenKey(c.Message.To, c.Message.Incident);
                })
                .ThenAsync(async c => c.Saga.Status = await ReadStatusAsync(c.Message.ClusterId, c.CancellationToken))
                .If(c => Observed(c) == ClusterStatus.Repairing && c.Saga.CurrentState != Repairing.Name, b => Enter(b, Repairing))
                .If(c => Observed(c) == ClusterStatus.Healthy && c.Saga.CurrentState != Healthy.Name, b => Enter(b, Healthy)));
    }

    public State Healthy { get; private set; } = null!;
    public State Repairing { get; private set; } = null!;

    public Event<StorageEngineStateChanged> EngineChanged { get; private set; } = null!;

    public static string SeenKey(EngineState state, string incident) => $"{state.ToWire()}@{incident}";

    private static ClusterStatus Observed(BehaviorContext<StorageClusterSaga, StorageEngineStateChanged> c) => c.Saga.Status;

    /// <summary>etcd is the truth: the status the last engine transition committed, not a guess from this event.</summary>
    private async Task<ClusterStatus> ReadStatusAsync(string clusterId, CancellationToken ct)
    {
        var kv = await _etcd.GetAsync(EtcdKeys.ClusterStatus(clusterId), ct);
        return kv is not null && WireNames<ClusterStatus>.TryParse(kv.Value.ToStringUtf8(), out var status) ? status : ClusterStatus.Healthy;
    }

    private EventActivityBinder<StorageClusterSaga, StorageEngineStateChanged> Enter(EventActivityBinder<StorageClusterSaga, StorageEngineStateChanged> binder, State state) =>
        binder
            .Then(c => TransitionHistory.Append(c.Saga.History,
                new TransitionRecord(c.Saga.CurrentState, state.Name, _time.GetUtcNow(), $"engine {c.Message.Address} is {c.Message.To.ToWire()}",
                    c.Message.Incident, TransitionHistory.CurrentTraceId(), TransitionHistory.CurrentSpanId()), _historyLimit))
            .TransitionTo(state)
            .Publish(c => new StorageClusterStateChanged
            {
                ClusterId = c.Saga.ClusterId,
                Status = Observed(c),
                At = c.Saga.History[^1].At,
            });
}
