using Microsoft.Extensions.DependencyInjection;
using ZeroDisk.ClusterState.Identity;
using ZeroDisk.ClusterState.Persistence;
using ZeroDisk.ClusterState.StorageEngines;
using ZeroDisk.ClusterState.Topology;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.ClusterState.Tests.Scenarios;

/// <summary>
/// A report that may start an incident has its topology read sent out beside the saga's read, not after it, and the
/// saga uses that read instead of a second one. A report of an engine this process knows to be offline needs no
/// topology at all.
/// </summary>
public sealed class When_a_report_may_start_an_incident
{
    [Fact]
    public async Task The_topology_is_read_once_and_before_the_saga_is_judged()
    {
        await using var deployment = await ClusterStateDeployment.CreateAsync();
        var instance = await deployment.StartInProcessAsync();
        var topology = instance.Services!.GetRequiredService<ClusterTopology>();
        var engine = deployment.NewEngineAddress();
        var clusterId = await deployment.SeedClusterAsync("c1", engine, deployment.NewEngineAddress());

        var reads = topology.SnapshotReads;
        await deployment.ReportFailureAsync(engine);
        await deployment.WaitForEngineAsync(clusterId, engine, EngineState.Offline);
        Assert.Equal(reads + 1, topology.SnapshotReads); // the read started beside the saga's, taken by the saga

        // Known offline (this process committed it): settled without a topology read.
        await ReportAndWaitAsync();
        Assert.Equal(reads + 1, topology.SnapshotReads);

        // Changed by someone else, still offline: the saga must be read again, and the topology read goes out with it,
        // before the read says the report changes nothing.
        var sagaKey = EtcdSagaSession<StorageEngineSaga>.Key(SagaIds.Engine(engine));
        var saga = (await deployment.EngineSagaAsync(engine))!;
        saga.LastRefusedReport = "written by another instance";
        await deployment.Etcd.PutAsync(sagaKey, ZeroDiskJson.Serialize(saga));
        await ReportAndWaitAsync();
        Assert.Equal(reads + 2, topology.SnapshotReads);
        Assert.Single((await deployment.EngineSagaAsync(engine))!.History);

        async Task ReportAndWaitAsync()
        {
            var id = Guid.NewGuid();
            await deployment.ReportFailureAsync(engine, messageId: id);
            await Eventually.UntilAsync(async () => await deployment.Etcd.GetAsync(EtcdSagaSession<StorageEngineSaga>.ProcessedKey(id), CancellationToken.None) is not null,
                "the report is recorded as processed", TimeSpan.FromSeconds(30));
        }
    }
}
