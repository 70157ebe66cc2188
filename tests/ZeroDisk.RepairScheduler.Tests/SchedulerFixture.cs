using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using ZeroDisk.RepairScheduler.Extensions;
using ZeroDisk.ServiceDefaults.Etcd;
using ZeroDisk.Testing;

namespace ZeroDisk.RepairScheduler.Tests;

/// <summary>
/// A real RepairScheduler host on the shared RabbitMQ and etcd, with short timings, plus a second bus that plays
/// the node agents (their per-node queues) and ClusterState (publishing transitions, capturing classifications).
/// </summary>
public sealed class SchedulerFixture : IAsyncDisposable
{
    private readonly IHost _host;
    private readonly IBusControl _peer;
    private readonly string _prefix;
    private readonly List<string> _peerQueues = [];

    private SchedulerFixture(IHost host, IBusControl peer, string prefix, InfrastructureEndpoints endpoints)
    {
        _host = host;
        _peer = peer;
        _prefix = prefix;
        Endpoints = endpoints;
        Etcd = EtcdExtensions.CreateClient(endpoints.EtcdEndpoints);
    }

    public InfrastructureEndpoints Endpoints { get; }
    public dotnet_etcd.EtcdClient Etcd { get; }
    public IBus Peer => _peer;
    public IServiceProvider Services => _host.Services;

    /// <param name="configurePeer">Receive endpoints of the peer bus (agent queues, event captures).</param>
    public static async Task<SchedulerFixture> StartAsync(Dictionary<string, string?> schedulerSettings, Action<IRabbitMqBusFactoryConfigurator> configurePeer, params string[] peerQueues)
    {
        var endpoints = await SharedInfrastructure.GetAsync();
        var prefix = TestNames.Unique("rs-test");
        var peer = Bus.Factory.CreateUsingRabbitMq(cfg =>
        {
            cfg.Host(endpoints.RabbitMqUri);
            configurePeer(cfg);
        });
        await peer.StartAsync(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);

        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["RABBITMQ_URI"] = endpoints.RabbitMqUri.ToString(),
            ["ETCD_ENDPOINTS"] = endpoints.EtcdEndpoints,
        });
        builder.Configuration.AddInMemoryCollection(schedulerSettings.ToDictionary(kv => $"Scheduler:{kv.Key}", kv => kv.Value));
        builder.AddEtcd();
        builder.AddRepairScheduler(prefix);
        var host = builder.Build();
        await host.StartAsync();
        var fixture = new SchedulerFixture(host, peer, prefix, endpoints);
        fixture._peerQueues.AddRange(peerQueues);
        return fixture;
    }

    /// <summary>A capture endpoint (durable, like a real agent's, so senders' exchange declarations match; deleted at the end).</summary>
    public static void Capture<T>(IRabbitMqBusFactoryConfigurator cfg, string queue, Action<T> onMessage) where T : class =>
        cfg.ReceiveEndpoint(queue, e =>
        {
            e.Handler<T>(context =>
            {
                onMessage(context.Message);
                return Task.CompletedTask;
            });
        });

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
        await _peer.StopAsync();
        Etcd.Dispose();
        foreach (var queue in _peerQueues.Append(_prefix)) await RabbitMqManagement.DeleteEndpointsAsync(Endpoints, queue);
    }
}
