namespace ZeroDisk.ClusterState.Tests.Scenarios;

/// <summary>
/// ClusterState:EndpointPrefix keeps a second deployment (the drill's private stack, a test) off the production
/// queues. It was once silently ignored: MassTransit keeps the first endpoint name formatter registered, and the
/// shared messaging set-up registers one before the service's own — the drill's ClusterState then consumed from, and
/// left behind, the unprefixed production queues.
/// </summary>
public sealed class When_deployments_share_a_broker
{
    [Fact]
    public async Task Every_queue_of_a_prefixed_deployment_carries_its_prefix()
    {
        await using var deployment = await ClusterStateDeployment.CreateAsync();
        await deployment.StartInProcessAsync(); // with EndpointPrefix = the deployment's scope

        var queues = await deployment.VirtualHost.QueueNamesAsync();
        Assert.All(queues, queue => Assert.StartsWith(deployment.Scope, queue));
        foreach (var saga in new[] { "storage-engine", "storage-cluster", "vdisk-repair" })
            Assert.Contains(queues, queue => queue.EndsWith(saga, StringComparison.Ordinal));
    }
}
