using System.Collections.Concurrent;
using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using ZeroDisk.ServiceDefaults.Messaging;

namespace ZeroDisk.NbdHost.Agent.Tests;

/// <summary>The test's own bus over the shared RabbitMQ: publishes agent commands, captures the agents' deferral events.</summary>
public sealed class TestBus : IAsyncDisposable
{
    private readonly IHost _host;
    private readonly InfrastructureEndpoints _infra;
    private readonly string _queue;

    private TestBus(IHost host, InfrastructureEndpoints infra, string queue, ConcurrentQueue<NbdServerStartDeferred> deferred)
    {
        _host = host;
        _infra = infra;
        _queue = queue;
        Deferred = deferred;
    }

    public ConcurrentQueue<NbdServerStartDeferred> Deferred { get; }
    public IBus Bus => _host.Services.GetRequiredService<IBus>();

    public static async Task<TestBus> StartAsync(InfrastructureEndpoints infra)
    {
        var queue = TestNames.Unique("agent-tests");
        var deferred = new ConcurrentQueue<NbdServerStartDeferred>();
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { [MessagingOptions.UriKey] = infra.RabbitMqUri.ToString() });
        builder.Services.AddSingleton(deferred);
        builder.AddMessaging(bus => bus.AddConsumer<CaptureDeferred>().Endpoint(e => e.Name = queue));
        var host = builder.Build();
        await host.StartAsync();
        return new TestBus(host, infra, queue, deferred);
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
        await RabbitMqManagement.DeleteEndpointsAsync(_infra, _queue);
    }

    private sealed class CaptureDeferred(ConcurrentQueue<NbdServerStartDeferred> deferred) : IConsumer<NbdServerStartDeferred>
    {
        public Task Consume(ConsumeContext<NbdServerStartDeferred> context)
        {
            deferred.Enqueue(context.Message);
            return Task.CompletedTask;
        }
    }
}
