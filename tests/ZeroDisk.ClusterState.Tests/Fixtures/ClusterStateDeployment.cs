using System.Net.Http.Json;
using dotnet_etcd;
using MassTransit;
using ZeroDisk.ClusterState.Identity;
using ZeroDisk.ClusterState.Persistence;
using ZeroDisk.ClusterState.StorageClusters;
using ZeroDisk.ClusterState.StorageEngines;
using ZeroDisk.ClusterState.VdiskRepairs;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.ClusterState.Tests.Fixtures;

/// <summary>
/// ClusterState instances of one test with everything unique to it: an etcd key scope (cluster and vdisk ids start
/// with it), a RabbitMQ vhost, and a publisher standing in for the log collectors and the scheduler. As the
/// scheduler it answers every RepairVerificationRequested with a clean verdict (verification is on by default)
/// unless <see cref="AnswerVerifications"/> is off; the requests are kept in <see cref="VerificationRequests"/>.
/// </summary>
public sealed class ClusterStateDeployment : IAsyncDisposable
{
    private readonly List<ClusterStateInstance> _instances = [];
    private readonly List<string> _engines = [];
    private readonly List<string> _clusters = [];
    private IBusControl? _publisher;

    private ClusterStateDeployment(InfrastructureEndpoints endpoints, RabbitMqVirtualHost vhost, EtcdClient etcd, string scope)
    {
        Endpoints = endpoints;
        VirtualHost = vhost;
        Etcd = etcd;
        Scope = scope;
    }

    public InfrastructureEndpoints Endpoints { get; }
    public RabbitMqVirtualHost VirtualHost { get; }
    public EtcdClient Etcd { get; }
    public string Scope { get; }
    public IReadOnlyList<ClusterStateInstance> Instances => _instances;
    public IBus Publisher => _publisher ?? throw new InvalidOperationException("start an instance first");

    /// <summary>Whether the stand-in scheduler answers verification requests with a clean verdict.</summary>
    public bool AnswerVerifications { get; set; } = true;

    public System.Collections.Concurrent.ConcurrentQueue<RepairVerificationRequested> VerificationRequests { get; } = new();

    public static async Task<ClusterStateDeployment> CreateAsync()
    {
        var endpoints = await SharedInfrastructure.GetAsync();
        var scope = TestNames.Unique("cs");
        var vhost = await RabbitMqVirtualHost.CreateAsync(endpoints, scope);
        return new ClusterStateDeployment(endpoints, vhost, EtcdExtensions.CreateClient(endpoints.EtcdEndpoints), scope);
    }

    public async Task<ClusterStateInstance> StartInProcessAsync(IEnumerable<string>? extraArguments = null, Action<Microsoft.AspNetCore.Builder.WebApplicationBuilder>? configure = null)
    {
        var instance = await ClusterStateInstance.StartInProcessAsync(Endpoints, VirtualHost.Uri, Scope, extraArguments, configure);
        _instances.Add(instance);
        await StartPublisherAsync();
        return instance;
    }

    public async Task<ClusterStateInstance.ExternalInstance> StartProcessAsync(IEnumerable<string>? extraArguments = null)
    {
        var log = Path.Combine(Path.GetTempPath(), $"{Scope}-clusterstate.log");
        var instance = await ClusterStateInstance.StartProcessAsync(Endpoints, VirtualHost.Uri, Scope, log, extraArguments);
        _instances.Add(instance);
        await StartPublisherAsync();
        return instance;
    }

    private async Task StartPublisherAsync()
    {
        if (_publisher is not null) return;
        _publisher = Bus.Factory.CreateUsingRabbitMq(rabbit =>
        {
            rabbit.Host(VirtualHost.Uri);
            rabbit.ReceiveEndpoint($"{Scope}-stand-in-scheduler", e => e.Handler<RepairVerificationRequested>(async context =>
            {
                VerificationRequests.Enqueue(context.Message);
                if (AnswerVerifications)
                    await context.Publish(new RepairVerified { Address = context.Message.Address, Incident = context.Message.Incident, Clean = true, Reason = "stand-in scheduler" });
            }));
        });
        await _publisher.StartAsync();
    }

    /// <summary>A loopback-free engine address no other test uses (the engine saga id is derived from it).</summary>
    public string NewEngineAddress()
    {
        var address = $"127.{Random.Shared.Next(1, 255)}.{Random.Shared.Next(1, 255)}.{Random.Shared.Next(1, 255)}:{Random.Shared.Next(20000, 60000)}";
        _engines.Add(address);
        return address;
    }

    public void TrackEngine(string address) => _engines.Add(address);

    public async Task<string> SeedClusterAsync(string name, params string[] addresses)
    {
        var clusterId = $"{Scope}-{name}";
        _clusters.Add(clusterId);
        await Etcd.PutJsonAsync(EtcdKeys.StorageClusterConfig(clusterId), new StorageClusterConfig(addresses.Select(a => new StorageServerConfig(a)).ToList()));
        await Etcd.PutAsync(EtcdKeys.ClusterStatus(clusterId), ClusterStatus.Healthy.ToWire());
        return clusterId;
    }

    public async Task<string> SeedVdiskAsync(string name, string primaryCluster, string slaveCluster)
    {
        var vdiskId = $"{Scope}-{name}";
        await Etcd.PutJsonAsync(EtcdKeys.VdiskStaticConfig(vdiskId), new VdiskStaticConfig());
        await Etcd.PutJsonAsync(EtcdKeys.VdiskNbdConfig(vdiskId), new VdiskNbdConfig(primaryCluster, slaveCluster));
        return vdiskId;
    }

    /// <summary>
    /// A primary and a slave cluster of <paramref name="shards"/> engines each (unique addresses) and the vdisks named
    /// (default "vd1") mirrored on them.
    /// </summary>
    public async Task<MirroredClusters> SeedMirroredClustersAsync(int shards = 2, params string[] vdisks)
    {
        var primaryEngines = Enumerable.Range(0, shards).Select(_ => NewEngineAddress()).ToList();
        var slaveEngines = Enumerable.Range(0, shards).Select(_ => NewEngineAddress()).ToList();
        var primary = await SeedClusterAsync("primary", [.. primaryEngines]);
        var slave = await SeedClusterAsync("slave", [.. slaveEngines]);
        var seeded = new List<string>();
        foreach (var name in vdisks is [] ? ["vd1"] : vdisks) seeded.Add(await SeedVdiskAsync(name, primary, slave));
        return new MirroredClusters(primary, slave, primaryEngines, slaveEngines, seeded[0]) { Vdisks = seeded };
    }

    public async Task<EngineState?> EngineStateAsync(string clusterId, string address)
    {
        var config = await Etcd.GetJsonAsync<StorageClusterConfig>(EtcdKeys.StorageClusterConfig(clusterId));
        return config?.Value.Servers.FirstOrDefault(s => s.Address == address)?.State;
    }

    public async Task<string?> ClusterStatusAsync(string clusterId) => await Etcd.GetValAsync(EtcdKeys.ClusterStatus(clusterId)) is { Length: > 0 } v ? v : null;

    public Task<StorageEngineSaga?> EngineSagaAsync(string address) => new SagaStore(Etcd).GetAsync<StorageEngineSaga>(SagaIds.Engine(address), CancellationToken.None);

    public Task<StorageClusterSaga?> ClusterSagaAsync(string clusterId) => new SagaStore(Etcd).GetAsync<StorageClusterSaga>(SagaIds.Cluster(clusterId), CancellationToken.None);

    public Task<VdiskRepairSaga?> VdiskRepairSagaAsync(string vdiskId, string incident) =>
        new SagaStore(Etcd).GetAsync<VdiskRepairSaga>(SagaIds.VdiskRepair(vdiskId, incident), CancellationToken.None);

    /// <summary>
    /// The phases a vdisk's repair saga recorded after its leading "Pending", once there are at least
    /// <paramref name="atLeast"/>. Phases only move forward, so a "Running" consumed before its "Pending" (two
    /// messages, no order between them) skips Pending; and a phase is recorded when its message is consumed, which
    /// may be after the job it announces is seen.
    /// </summary>
    public async Task<IReadOnlyList<string>> VdiskRepairPhasesAsync(string vdiskId, string incident, int atLeast)
    {
        IReadOnlyList<string> phases = [];
        await Eventually.UntilAsync(async () =>
        {
            phases = [.. ((await VdiskRepairSagaAsync(vdiskId, incident))?.History ?? []).Select(h => h.To).SkipWhile(to => to == "Pending")];
            return phases.Count >= atLeast;
        }, $"vdisk {vdiskId}'s repair saga past {atLeast} phase(s)");
        return phases;
    }

    public Task WaitForEngineAsync(string clusterId, string address, EngineState state, TimeSpan? timeout = null) =>
        Eventually.UntilAsync(async () => await EngineStateAsync(clusterId, address) == state, $"engine {address} is {state.ToWire()} in etcd", timeout);

    public Task WaitForClusterAsync(string clusterId, ClusterStatus status) =>
        Eventually.UntilAsync(async () => await ClusterStatusAsync(clusterId) == status.ToWire(), $"cluster {clusterId} is {status.ToWire()}");

    // What the collectors and the scheduler would publish.

    public static EventSource Source(string node, DateTimeOffset? observedAt = null, long offset = 0) =>
        new() { Node = node, Stream = $"{node}.log", Offset = offset, ObservedAt = observedAt ?? DateTimeOffset.UtcNow };

    public Task ReportFailureAsync(string address, string node = "nbd-1", DateTimeOffset? observedAt = null, Guid? messageId = null) =>
        Publisher.Publish(new StorageEngineFailureReported { Address = address, Source = Source(node, observedAt) },
            ctx => { if (messageId is { } id) ctx.MessageId = id; });

    public Task ClassifyAsync(string address, string incident, OutageKind kind) =>
        Publisher.Publish(new OutageClassified { Address = address, Incident = incident, Kind = kind, Reason = "test" });

    public Task CompleteAsync(string address, string vdiskId, RepairKind kind, string? incident) =>
        Publisher.Publish(new VdiskRepairCompleted { Address = address, VdiskId = vdiskId, Kind = kind, Incident = incident, Source = Source("nbd-1") });

    /// <summary>
    /// An outage up to its repair: the engine is reported failed (by <paramref name="node"/>), its incident is classified
    /// as <paramref name="kind"/>, and the engine is in the repair state that follows. Returns the incident.
    /// </summary>
    public async Task<string> StartRepairAsync(string clusterId, string address, OutageKind kind, string node = "nbd-1")
    {
        await ReportFailureAsync(address, node);
        var incident = await IncidentAsync(address);
        await ClassifyAndWaitForRepairAsync(clusterId, address, incident, kind);
        return incident;
    }

    /// <summary>Classifies <paramref name="incident"/> and waits until the engine is in the repair state that follows.</summary>
    public async Task ClassifyAndWaitForRepairAsync(string clusterId, string address, string incident, OutageKind kind)
    {
        await ClassifyAsync(address, incident, kind);
        await WaitForEngineAsync(clusterId, address, kind == OutageKind.Temporary ? EngineState.RepairTmpOutage : EngineState.RepairFinalOutage);
    }

    public async Task<string> IncidentAsync(string address)
    {
        string? incident = null;
        await Eventually.UntilAsync(async () => (incident = (await EngineSagaAsync(address))?.Incident) is not null, $"engine {address} has an incident");
        return incident!;
    }

    /// <summary>An admin API client; <paramref name="token"/> is sent as the bearer token (the configured one unless told otherwise, none if null).</summary>
    public HttpClient Http(int instance = 0, string? token = ClusterStateInstance.AdminToken)
    {
        var http = new HttpClient { BaseAddress = _instances[instance].Url };
        if (token is not null) http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        return http;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var instance in _instances) await instance.DisposeAsync();
        if (_publisher is not null) await _publisher.StopAsync();
        await VirtualHost.DisposeAsync();
        // Everything this test wrote to etcd: its scoped keys and the sagas of its engines, clusters and repairs.
        await Etcd.DeleteRangeAsync(Scope);
        await Etcd.DeleteRangeAsync(VdiskAdminTombstonePrefix + Scope);
        foreach (var engine in _engines) await Etcd.DeleteAsync(EtcdSagaSession<StorageEngineSaga>.Key(SagaIds.Engine(engine)));
        foreach (var cluster in _clusters) await Etcd.DeleteAsync(EtcdSagaSession<StorageClusterSaga>.Key(SagaIds.Cluster(cluster)));
        foreach (var repair in await new SagaStore(Etcd).ListAsync<VdiskRepairSaga>(CancellationToken.None))
            if (repair.VdiskId.StartsWith(Scope, StringComparison.Ordinal))
                await Etcd.DeleteAsync(EtcdSagaSession<VdiskRepairSaga>.Key(repair.CorrelationId));
        Etcd.Dispose();
    }

    public sealed record MirroredClusters(string Primary, string Slave, IReadOnlyList<string> PrimaryEngines, IReadOnlyList<string> SlaveEngines, string Vdisk)
    {
        /// <summary>Every vdisk seeded, <see cref="Vdisk"/> first.</summary>
        public IReadOnlyList<string> Vdisks { get; init; } = [Vdisk];
    }

    private const string VdiskAdminTombstonePrefix = "zerodisk/vdisk-deleting/";
}
