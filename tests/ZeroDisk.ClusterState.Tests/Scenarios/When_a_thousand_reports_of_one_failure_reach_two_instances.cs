using Mvccpb;
using ZeroDisk.ClusterState.Identity;
using ZeroDisk.ClusterState.Persistence;
using ZeroDisk.ClusterState.StorageEngines;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.ClusterState.Tests.Scenarios;

/// <summary>The same report from 100 NBD servers changes the engine's state exactly once.</summary>
public sealed class When_a_thousand_reports_of_one_failure_reach_two_instances
{
    [Fact]
    public async Task The_engine_changes_to_offline_exactly_once_and_the_cluster_is_repairing()
    {
        await using var deployment = await ClusterStateDeployment.CreateAsync();
        await deployment.StartInProcessAsync();
        await deployment.StartInProcessAsync();
        var failed = deployment.NewEngineAddress();
        var other = deployment.NewEngineAddress();
        var clusterId = await deployment.SeedClusterAsync("c1", failed, other);
        var configKey = EtcdKeys.StorageClusterConfig(clusterId);
        var seeded = await deployment.Etcd.GetAsync(configKey, CancellationToken.None);

        // 100 reporters, 10 reports each (an NBD server may re-report after a reconnect), all at once.
        var messageIds = Enumerable.Range(0, 1000).Select(_ => Guid.NewGuid()).ToArray();
        await Task.WhenAll(messageIds.Select((id, i) => deployment.ReportFailureAsync(failed, node: $"nbd-{i % 100}", messageId: id)));

        // Every report is recorded as processed (or was acknowledged as a duplicate of one that is).
        await Eventually.UntilAsync(async () =>
        {
            var pending = 0;
            foreach (var chunk in messageIds.Chunk(100))
            {
                var found = await Task.WhenAll(chunk.Select(id => deployment.Etcd.GetAsync(EtcdSagaSession<StorageEngineSaga>.ProcessedKey(id), CancellationToken.None)));
                pending += found.Count(kv => kv is null);
            }
            return pending == 0;
        }, "all 1000 reports are processed", TimeSpan.FromSeconds(90));

        Assert.Equal(EngineState.Offline, await deployment.EngineStateAsync(clusterId, failed));
        Assert.Equal(EngineState.Online, await deployment.EngineStateAsync(clusterId, other));
        Assert.Equal(ClusterStatus.Repairing.ToWire(), await deployment.ClusterStatusAsync(clusterId));

        // The config key's whole history, replayed by a watch from its creation: one change of the engine's state.
        var current = await deployment.Etcd.GetAsync(configKey, CancellationToken.None);
        var values = await HistoryAsync(deployment, configKey, seeded!.ModRevision, current!.ModRevision);
        var states = values.Select(v => ZeroDiskJson.Deserialize<StorageClusterConfig>(v).Servers.Single(s => s.Address == failed).State).ToList();
        var changes = states.Zip(states.Skip(1)).Count(p => p.First != p.Second);
        Assert.Equal(1, changes);
        Assert.Equal([EngineState.Online, EngineState.Offline], states.Distinct());

        // The saga was written once (Version 1) and records one transition.
        var sagaKv = await deployment.Etcd.GetAsync(EtcdSagaSession<StorageEngineSaga>.Key(SagaIds.Engine(failed)), CancellationToken.None);
        Assert.Equal(1, sagaKv!.Version);
        var saga = await deployment.EngineSagaAsync(failed);
        Assert.Single(saga!.History);
        Assert.Equal(EngineStateNames.Offline, saga.CurrentState);
    }

    private static async Task<IReadOnlyList<string>> HistoryAsync(ClusterStateDeployment deployment, string key, long from, long to)
    {
        var values = new List<string>();
        var done = new TaskCompletionSource();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var watch = EtcdWatch.RunAsync(deployment.Endpoints.EtcdEndpoints, key, prefix: false, from, (events, _) =>
        {
            foreach (var e in events)
            {
                if (e.Type == Event.Types.EventType.Put) values.Add(e.Kv.Value.ToStringUtf8());
                if (e.Kv.ModRevision >= to) done.TrySetResult();
            }
            return Task.CompletedTask;
        }, cts.Token);
        await done.Task.WaitAsync(cts.Token);
        await cts.CancelAsync();
        await watch;
        return values;
    }
}
