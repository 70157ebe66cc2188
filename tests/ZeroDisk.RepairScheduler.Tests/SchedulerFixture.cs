using System.Net.Http.Json;
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
/// Both buses live in a virtual host of the test's own: a whole stack running beside it on the shared broker (an
/// end-to-end drill, an agent test) publishes the same contracts, and its scheduler would otherwise act on this
/// test's reports (a second restart) and this one on its.
/// </summary>
public sealed class SchedulerFixture : IAsyncDisposable
{
    private IHost _host;
    private readonly IBusControl _peer;
    private readonly string _prefix;
    private readonly string _etcdEndpoints;
    private readonly Dictionary<string, string?> _settings;
    private readonly RabbitMqVirtualHost _vhost;

    private SchedulerFixture(IHost host, IBusControl peer, string prefix, InfrastructureEndpoints endpoints, RabbitMqVirtualHost vhost,
        string etcdEndpoints, Dictionary<string, string?> settings)
    {
        _host = host;
        _peer = peer;
        _prefix = prefix;
        _vhost = vhost;
        _etcdEndpoints = etcdEndpoints;
        _settings = settings;
        Endpoints = endpoints;
        Etcd = EtcdExtensions.CreateClient(etcdEndpoints);
    }

    /// <summary>The shared servers, with the broker's address in the test's own virtual host.</summary>
    public InfrastructureEndpoints Endpoints { get; }

    /// <summary>The test's virtual host as the management API spells it in paths (<c>api/queues/{vhost}/…</c>).</summary>
    public string VirtualHost => _vhost.Name;
    public dotnet_etcd.EtcdClient Etcd { get; }
    public IBus Peer => _peer;
    public IServiceProvider Services => _host.Services;

    /// <summary>The error queue of one of the scheduler's consumers, e.g. "process-exited".</summary>
    public string ErrorQueue(string endpoint) => $"{_prefix}-{endpoint}_error";

    /// <summary>Messages waiting in a queue of the shared broker (0 when it does not exist); the management API's count lags by a few seconds.</summary>
    public async Task<long> MessagesInAsync(string queue)
    {
        using var http = RabbitMqManagement.Client(Endpoints);
        var response = await http.GetAsync($"api/queues/{VirtualHost}/{Uri.EscapeDataString(queue)}");
        if (response.StatusCode == System.Net.HttpStatusCode.NotFound) return 0;
        response.EnsureSuccessStatusCode();
        var json = await response.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>();
        return json.TryGetProperty("messages", out var messages) && messages.ValueKind == System.Text.Json.JsonValueKind.Number ? messages.GetInt64() : 0;
    }

    /// <param name="configurePeer">Receive endpoints of the peer bus (agent queues, event captures).</param>
    public static Task<SchedulerFixture> StartAsync(Dictionary<string, string?> schedulerSettings, Action<IRabbitMqBusFactoryConfigurator> configurePeer) =>
        StartOnEtcdAsync(null, schedulerSettings, configurePeer);

    /// <param name="etcdEndpoints">An etcd of the test's own (one it stops and starts), instead of the shared one.</param>
    public static async Task<SchedulerFixture> StartOnEtcdAsync(string? etcdEndpoints, Dictionary<string, string?> schedulerSettings,
        Action<IRabbitMqBusFactoryConfigurator> configurePeer)
    {
        var shared = await SharedInfrastructure.GetAsync();
        etcdEndpoints ??= shared.EtcdEndpoints;
        var prefix = TestNames.Unique("rs-test");
        var vhost = await RabbitMqVirtualHost.CreateAsync(shared, prefix);
        var endpoints = shared with { RabbitMqUri = vhost.Uri };
        var peer = Bus.Factory.CreateUsingRabbitMq(cfg =>
        {
            cfg.Host(endpoints.RabbitMqUri);
            configurePeer(cfg);
        });
        await peer.StartAsync(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);

        var host = await StartSchedulerAsync(endpoints, etcdEndpoints, prefix, schedulerSettings);
        return new SchedulerFixture(host, peer, prefix, endpoints, vhost, etcdEndpoints, schedulerSettings);
    }

    /// <summary>Stops the scheduler (its timers die with it, as in a crash) and starts a new one of the same deployment.</summary>
    public async Task RestartSchedulerAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
        _host = await StartSchedulerAsync(Endpoints, _etcdEndpoints, _prefix, _settings);
    }

    private static async Task<IHost> StartSchedulerAsync(InfrastructureEndpoints endpoints, string etcdEndpoints, string prefix, Dictionary<string, string?> settings)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["RABBITMQ_URI"] = endpoints.RabbitMqUri.ToString(),
            ["ETCD_ENDPOINTS"] = etcdEndpoints,
        });
        builder.Configuration.AddInMemoryCollection(settings.ToDictionary(kv => $"Scheduler:{kv.Key}", kv => kv.Value));
        builder.AddEtcd();
        builder.AddRepairScheduler(prefix);
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    /// <summary>A capture endpoint (durable, like a real agent's, so senders' exchange declarations match; deleted with the virtual host).</summary>
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
        await _vhost.DisposeAsync(); // its queues and exchanges with it
    }
}
