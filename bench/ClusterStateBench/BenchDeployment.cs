using dotnet_etcd;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using ZeroDisk.ClusterState.Extensions;
using ZeroDisk.ClusterState.Identity;
using ZeroDisk.ClusterState.Persistence;
using ZeroDisk.ClusterState.StorageClusters;
using ZeroDisk.ClusterState.StorageEngines;
using ZeroDisk.Contracts;
using ZeroDisk.LocalStack;
using ZeroDisk.ServiceDefaults.Etcd;

/// <summary>
/// One ClusterState — a given build run as its own process, or this process's own composition — on a private
/// RabbitMQ vhost and etcd key scope, and a bus that publishes what the collectors would.
/// </summary>
internal sealed class BenchDeployment : IAsyncDisposable
{
    private WebApplication? _app;
    private BackgroundProcess? _process;
    private IBusControl? _publisher;
    private readonly List<string> _engines = [];
    private readonly List<string> _clusters = [];

    private BenchDeployment(InfrastructureEndpoints endpoints, RabbitMqVirtualHost vhost, string scope)
    {
        Endpoints = endpoints;
        VirtualHost = vhost;
        Scope = scope;
        Etcd = EtcdExtensions.CreateClient(endpoints.EtcdEndpoints);
    }

    public InfrastructureEndpoints Endpoints { get; }
    public RabbitMqVirtualHost VirtualHost { get; }
    public string Scope { get; }
    public EtcdClient Etcd { get; }

    public static async Task<BenchDeployment> CreateAsync()
    {
        var endpoints = await LocalInfrastructure.GetAsync();
        var scope = TestNames.Unique("csbench");
        return new BenchDeployment(endpoints, await RabbitMqVirtualHost.CreateAsync(endpoints, scope), scope);
    }

    /// <summary>The ClusterState process, when one runs (its CPU time is the bench's cost figure).</summary>
    public System.Diagnostics.Process? Process => _process?.Process;

    private string[] Arguments(int port) =>
    [
        $"--urls=http://127.0.0.1:{port}", $"--{EtcdExtensions.EndpointsKey}={Endpoints.EtcdEndpoints}", $"--RABBITMQ_URI={VirtualHost.Uri}",
        $"--{ClusterStateOptions.Section}:KeyScope={Scope}", $"--{ClusterStateOptions.Section}:EndpointPrefix={Scope}",
        "--Logging:LogLevel:Default=Warning", "--Logging:LogLevel:MassTransit=Error",
    ];

    public async Task StartInProcessAsync()
    {
        await StartPublisherAsync();
        _app = ClusterStateApp.Build(Arguments(FreePort.Next()));
        await _app.StartAsync();
    }

    /// <summary>Runs <paramref name="dll"/> (a built or published clusterstate.dll) with the same settings; returns once it is ready.</summary>
    public async Task StartProcessAsync(string dll)
    {
        await StartPublisherAsync();
        var port = FreePort.Next();
        _process = BackgroundProcess.Start("dotnet", [dll, .. Arguments(port)]);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        await Eventually.UntilAsync(async () =>
        {
            if (_process.Process.HasExited)
                throw new InvalidOperationException($"{dll} exited {_process.Process.ExitCode}\n{_process.StdErr}{_process.StdOut}");
            try
            {
                return (await http.GetAsync($"http://127.0.0.1:{port}/health/ready")).IsSuccessStatusCode;
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                return false;
            }
        }, $"{dll} is ready", TimeSpan.FromMinutes(3));
    }

    /// <summary>
    /// Starts the publisher and warms its own path before any ClusterState runs: a bus's first publish of a type
    /// declares the exchange and JIT-compiles the publish pipeline, 0.4 s here, which the bench used to count in the
    /// first cold report's latency. These reports go to an exchange no queue is bound to yet (a new vhost), so they
    /// are dropped by the broker and ClusterState never sees them.
    /// </summary>
    private async Task StartPublisherAsync()
    {
        _publisher = Bus.Factory.CreateUsingRabbitMq(rabbit => rabbit.Host(VirtualHost.Uri));
        await _publisher.StartAsync();
        for (var i = 0; i < 3; i++) await ReportFailureAsync($"bench-publisher-warm-up.invalid:{i}");
    }

    /// <summary>An engine address nobody listens on: ClusterState only records what is reported about it.</summary>
    public string NewEngineAddress()
    {
        var address = $"127.{Random.Shared.Next(1, 255)}.{Random.Shared.Next(1, 255)}.{Random.Shared.Next(1, 255)}:{Random.Shared.Next(20000, 60000)}";
        _engines.Add(address);
        return address;
    }

    public async Task SeedClusterAsync(string name, params string[] addresses)
    {
        var clusterId = $"{Scope}-{name}";
        _clusters.Add(clusterId);
        await Etcd.PutJsonAsync(EtcdKeys.StorageClusterConfig(clusterId), new StorageClusterConfig(addresses.Select(a => new StorageServerConfig(a)).ToList()));
        await Etcd.PutAsync(EtcdKeys.ClusterStatus(clusterId), ClusterStatus.Healthy.ToWire());
    }

    public Task ReportFailureAsync(string address, string node = "nbd-1", Guid? messageId = null) =>
        (_publisher ?? throw new InvalidOperationException("start first")).Publish(
            new StorageEngineFailureReported { Address = address, Source = new EventSource { Node = node, Stream = $"{node}.log", ObservedAt = DateTimeOffset.UtcNow } },
            ctx => { if (messageId is { } id) ctx.MessageId = id; });

    public async ValueTask DisposeAsync()
    {
        if (_publisher is not null) await _publisher.StopAsync();
        if (_process is not null) await _process.DisposeAsync();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
        await Etcd.DeleteRangeAsync(Scope);
        // The sagas' keys are named after the engine and the cluster, outside the scope.
        foreach (var engine in _engines) await Etcd.DeleteAsync(EtcdSagaSession<StorageEngineSaga>.Key(SagaIds.Engine(engine)));
        foreach (var cluster in _clusters) await Etcd.DeleteAsync(EtcdSagaSession<StorageClusterSaga>.Key(SagaIds.Cluster(cluster)));
        await VirtualHost.DisposeAsync();
    }
}
