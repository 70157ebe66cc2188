using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using ZeroDisk.Contracts;
using ZeroDisk.ServiceDefaults.Messaging;
using ZeroDisk.Testing;

namespace ZeroDisk.Infrastructure.Tests;

public class RabbitMqTests
{
    [Fact]
    public async Task A_published_contract_is_consumed_over_rabbitmq_through_the_shared_bus_setup()
    {
        var endpoints = await SharedInfrastructure.GetAsync();
        var address = $"127.0.0.1:{Random.Shared.Next(20000, 30000)}";
        var received = new TaskCompletionSource<StorageEngineFailureReported>(TaskCreationOptions.RunContinuationsAsynchronously);
        var queue = TestNames.Unique("it-failures");

        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { [MessagingOptions.UriKey] = endpoints.RabbitMqUri.ToString() });
        builder.Services.AddSingleton(new Expected(address, received));
        builder.AddMessaging(bus => bus.AddConsumer<CaptureFailures>().Endpoint(e => e.Name = queue));
        using var host = builder.Build();
        await host.StartAsync();
        try
        {
            var bus = host.Services.GetRequiredService<IBus>();
            await bus.Publish(new StorageEngineFailureReported
            {
                Address = address,
                Source = new EventSource { Node = "node-a", Stream = "nbd1.log", Offset = 42, ObservedAt = DateTimeOffset.UtcNow },
            });
            // Other tests publish the same contract concurrently: wait for this test's own message.
            var message = await received.Task.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(address, message.Address);
            Assert.Equal(42, message.Source.Offset);
        }
        finally
        {
            await host.StopAsync();
            await RabbitMqManagement.DeleteEndpointsAsync(endpoints, queue);
        }
        // The endpoint's exchange goes with its queue, or the contract's exchange keeps routing every publish to it.
        Assert.DoesNotContain(await RabbitMqManagement.EndpointNamesAsync(endpoints), name => name.Contains(queue));
    }

    private sealed record Expected(string Address, TaskCompletionSource<StorageEngineFailureReported> Received);

    private sealed class CaptureFailures(Expected expected) : IConsumer<StorageEngineFailureReported>
    {
        public Task Consume(ConsumeContext<StorageEngineFailureReported> context)
        {
            if (context.Message.Address == expected.Address) expected.Received.TrySetResult(context.Message);
            return Task.CompletedTask;
        }
    }
}
