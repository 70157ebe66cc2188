using ZeroDisk.ClusterState.Persistence;

namespace ZeroDisk.ClusterState.Tests.Scenarios;

/// <summary>
/// Engines of one cluster fail at once (a node hosting several of them dies), reported to two instances. Each
/// transition commits against the cluster config and status its report's topology snapshot read; all but one of any
/// two that read the same revision fail that compare and run again from a fresh read, so no engine's state is lost.
/// </summary>
public sealed class When_engines_of_one_cluster_fail_together
{
    [Fact]
    public async Task Every_engine_ends_offline_in_the_one_config()
    {
        await using var deployment = await ClusterStateDeployment.CreateAsync();
        await deployment.StartInProcessAsync();
        await deployment.StartInProcessAsync();
        var engines = Enumerable.Range(0, 6).Select(_ => deployment.NewEngineAddress()).ToArray();
        var clusterId = await deployment.SeedClusterAsync("c1", engines);
        var failing = engines[..5];

        await Task.WhenAll(failing.SelectMany(engine => Enumerable.Range(0, 4).Select(r => deployment.ReportFailureAsync(engine, node: $"nbd-{r}"))));

        foreach (var engine in failing) await deployment.WaitForEngineAsync(clusterId, engine, EngineState.Offline, TimeSpan.FromSeconds(60));
        Assert.Equal(EngineState.Online, await deployment.EngineStateAsync(clusterId, engines[5]));
        Assert.Equal(ClusterStatus.Repairing.ToWire(), await deployment.ClusterStatusAsync(clusterId));
        foreach (var engine in failing)
        {
            var saga = await deployment.EngineSagaAsync(engine);
            Assert.Single(saga!.History); // one transition each, whatever was retried
        }
    }
}
