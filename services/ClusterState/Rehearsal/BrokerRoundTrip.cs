using MassTransit;

namespace ZeroDisk.ClusterState.Rehearsal;

/// <summary>
/// The part of a report's path the in-memory rehearsal cannot run: the broker transport of the service's own bus.
/// One <see cref="RehearsalPing"/> is sent to an auto-deleted queue of its own that this bus consumes (named with the
/// service's queue prefix, bound to no message exchange, so nobody else sees it) and awaited there; the queue goes when
/// the endpoint stops.
/// </summary>
internal static class BrokerRoundTrip
{
    /// <param name="endpointPrefix">The service's queue prefix (ClusterState:EndpointPrefix): a deployment's queues all carry it.</param>
    public static async Task RunAsync(IBus bus, string endpointPrefix, CancellationToken ct)
    {
        var received = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var ping = new RehearsalPing(Guid.NewGuid());
        var queue = $"{(endpointPrefix.Length > 0 ? endpointPrefix + "-" : "")}clusterstate-rehearsal-{ping.Id:N}";
        var handle = bus.ConnectReceiveEndpoint(queue, endpoint =>
        {
            if (endpoint is IRabbitMqReceiveEndpointConfigurator rabbit)
            {
                rabbit.AutoDelete = true;
                rabbit.Durable = false;
            }
            endpoint.ConfigureConsumeTopology = false;
            endpoint.Handler<RehearsalPing>(context =>
            {
                if (context.Message.Id == ping.Id) received.TrySetResult();
                return Task.CompletedTask;
            });
        });
        try
        {
            var ready = await handle.Ready.WaitAsync(ct);
            await (await bus.GetSendEndpoint(ready.InputAddress)).Send(ping, ct);
            await received.Task.WaitAsync(ct);
        }
        finally
        {
            using var stopping = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await handle.StopAsync(stopping.Token);
        }
    }
}
