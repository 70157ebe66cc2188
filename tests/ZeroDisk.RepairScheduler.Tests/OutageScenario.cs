using System.Collections.Concurrent;
using ZeroDisk.Contracts;
using ZeroDisk.ServiceDefaults.Etcd;
using ZeroDisk.Testing;

namespace ZeroDisk.RepairScheduler.Tests;

/// <summary>One engine in a one-shard cluster registered in etcd, a scheduler, and what it classifies.</summary>
internal sealed class OutageScenario : IAsyncDisposable
{
    public required SchedulerFixture Scheduler { get; init; }
    public required RedisServerProcess Engine { get; init; }
    public required string ClusterId { get; init; }
    public required ConcurrentQueue<OutageClassified> Classified { get; init; }

    public static async Task<OutageScenario> StartAsync(TimeSpan deadline)
    {
        var engine = await RedisServerProcess.StartAsync();
        await EngineProbeTests.WriteMarkerAsync(engine, "marker-" + engine.Port);
        var classified = new ConcurrentQueue<OutageClassified>();
        var captureQueue = TestNames.Unique("rs-capture-outage");
        var scheduler = await SchedulerFixture.StartAsync(
            new() { ["GracePeriod"] = "00:00:01", ["Deadline"] = deadline.ToString(), ["ProbeInterval"] = "00:00:00.2", ["MaxProbeInterval"] = "00:00:00.5" },
            cfg => SchedulerFixture.Capture<OutageClassified>(cfg, captureQueue, m =>
            {
                if (m.Address == engine.Address) classified.Enqueue(m);
            }));
        var clusterId = TestNames.Unique("cluster");
        // Offline, as ClusterState commits it before it publishes the transition (the scheduler ignores a stale one).
        await scheduler.Etcd.PutJsonAsync(EtcdKeys.StorageClusterConfig(clusterId), new StorageClusterConfig([new(engine.Address, State: EngineState.Offline)]));
        await scheduler.Etcd.PutAsync(EtcdKeys.EngineIdentity(engine.Address), "marker-" + engine.Port);
        return new OutageScenario { Scheduler = scheduler, Engine = engine, ClusterId = clusterId, Classified = classified };
    }

    public Task ReportOfflineAsync(string incident) => Scheduler.Peer.Publish(new StorageEngineStateChanged
    {
        ClusterId = ClusterId, Address = Engine.Address, From = EngineState.Online, To = EngineState.Offline, Incident = incident, At = DateTimeOffset.UtcNow,
    });

    public async Task<OutageClassified> ClassificationAsync(TimeSpan within)
    {
        OutageClassified? result = null;
        await Eventually.TrueAsync(() => Classified.TryPeek(out result), within, $"classification of {Engine.Address}");
        return result!;
    }

    public async ValueTask DisposeAsync()
    {
        await Scheduler.DisposeAsync();
        await Engine.DisposeAsync();
    }
}
