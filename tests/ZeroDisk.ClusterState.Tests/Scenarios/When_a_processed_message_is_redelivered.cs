using ZeroDisk.ServiceDefaults.Etcd;
using ZeroDisk.ClusterState.Persistence;
using ZeroDisk.ClusterState.StorageEngines;

namespace ZeroDisk.ClusterState.Tests.Scenarios;

/// <summary>The processed-MessageId record in etcd: a redelivered report (same MessageId) is not a new failure.</summary>
public sealed class When_a_processed_message_is_redelivered
{
    [Fact]
    public async Task It_changes_nothing_even_when_it_would_look_fresh()
    {
        await using var deployment = await ClusterStateDeployment.CreateAsync();
        await deployment.StartInProcessAsync();
        var engine = deployment.NewEngineAddress();
        var clusterId = await deployment.SeedClusterAsync("c1", engine, deployment.NewEngineAddress());
        var messageId = Guid.NewGuid();

        await deployment.ReportFailureAsync(engine, messageId: messageId);
        var incident = await deployment.IncidentAsync(engine);
        await deployment.ClassifyAsync(engine, incident, OutageKind.Temporary);
        await deployment.WaitForEngineAsync(clusterId, engine, EngineState.Online); // no affected vdisk: repaired at once

        var record = await deployment.Etcd.GetAsync(EtcdSagaSession<StorageEngineSaga>.ProcessedKey(messageId), CancellationToken.None);
        Assert.NotNull(record);
        Assert.NotEqual(0, record.Lease); // expires on its own

        // The collector restarts and relays the same line again (same MessageId), observed now.
        await deployment.ReportFailureAsync(engine, observedAt: DateTimeOffset.UtcNow.AddSeconds(1), messageId: messageId);
        // A different report afterwards is processed, so the redelivery was consumed before it.
        var marker = deployment.NewEngineAddress();
        var markerCluster = await deployment.SeedClusterAsync("c2", marker);
        await deployment.ReportFailureAsync(marker);
        await deployment.WaitForEngineAsync(markerCluster, marker, EngineState.Offline);
        await Task.Delay(300);

        Assert.Equal(EngineState.Online, await deployment.EngineStateAsync(clusterId, engine));
        Assert.Equal(3, (await deployment.EngineSagaAsync(engine))!.History.Count);
    }
}
