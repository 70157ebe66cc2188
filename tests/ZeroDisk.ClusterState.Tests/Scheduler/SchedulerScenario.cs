using System.Collections.Concurrent;
using MassTransit;
using StackExchange.Redis;
using ZeroDisk.ServiceDefaults.Engines;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.ClusterState.Tests.Scheduler;

/// <summary>Scenarios that register agents in the shared etcd run one at a time, so no test's scheduler picks another's agent.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SchedulerScenarios
{
    public const string Name = "ClusterState with the real scheduler";
}

/// <summary>
/// ClusterState (in-process) and the real RepairScheduler (a process) on one deployment, a primary and a slave
/// cluster of real redis-server engines, vdisk "vd1" on them that no NBD server serves, and a node agent played by
/// the test: it receives the scheduler's RepairVdisk jobs and <see cref="OnJob"/> decides what the job does.
/// </summary>
public sealed class SchedulerScenario : IAsyncDisposable
{
    private readonly List<RedisServerProcess> _engines = [];
    private readonly List<IAsyncDisposable> _more = [];
    private HostReceiveEndpointHandle? _agentEndpoint;

    private SchedulerScenario(ClusterStateDeployment deployment) => Deployment = deployment;

    public ClusterStateDeployment Deployment { get; }
    public SchedulerProcess Scheduler { get; private set; } = null!;
    public IReadOnlyList<RedisServerProcess> Primary { get; private set; } = [];
    public IReadOnlyList<RedisServerProcess> Slave { get; private set; } = [];
    public string PrimaryCluster { get; private set; } = "";
    public string SlaveCluster { get; private set; } = "";
    public string Vdisk { get; private set; } = "";
    public string AgentNode { get; } = TestNames.Unique("agent");
    public ConcurrentQueue<RepairVdisk> Jobs { get; } = new();

    /// <summary>What the played agent does with a job (the default does nothing: the test completes it).</summary>
    public Func<RepairVdisk, Task> OnJob { get; set; } = _ => Task.CompletedTask;

    public static async Task<SchedulerScenario> StartAsync(int shards = 1, Dictionary<string, string>? schedulerSettings = null,
        IEnumerable<string>? clusterStateArguments = null, IReadOnlyDictionary<string, string>? schedulerEnvironment = null, bool clusterStateAsProcess = false)
    {
        var scenario = new SchedulerScenario(await ClusterStateDeployment.CreateAsync());
        try
        {
            var deployment = scenario.Deployment;
            if (clusterStateAsProcess) await deployment.StartProcessAsync(clusterStateArguments);
            else await deployment.StartInProcessAsync(clusterStateArguments);
            deployment.AnswerVerifications = false; // the real scheduler answers
            for (var i = 0; i < 2 * shards; i++) scenario._engines.Add(await RedisServerProcess.StartAsync());
            scenario.Primary = scenario._engines.Take(shards).ToList();
            scenario.Slave = scenario._engines.Skip(shards).ToList();
            foreach (var engine in scenario._engines) deployment.TrackEngine(engine.Address);
            scenario.PrimaryCluster = await deployment.SeedClusterAsync("primary", [.. scenario.Primary.Select(e => e.Address)]);
            scenario.SlaveCluster = await deployment.SeedClusterAsync("slave", [.. scenario.Slave.Select(e => e.Address)]);
            scenario.Vdisk = await deployment.SeedVdiskAsync("vd1", scenario.PrimaryCluster, scenario.SlaveCluster);

            scenario._agentEndpoint = deployment.Publisher.ConnectReceiveEndpoint(AgentQueues.Name(scenario.AgentNode), e => e.Handler<RepairVdisk>(async context =>
            {
                scenario.Jobs.Enqueue(context.Message);
                await scenario.OnJob(context.Message);
            }));
            await scenario._agentEndpoint.Ready;
            // The least loaded agent gets the jobs; nothing else in this test project registers agents.
            await deployment.Etcd.PutJsonAsync(EtcdKeys.Agent(scenario.AgentNode), new AgentRegistration(scenario.AgentNode, "127.0.0.1:1", -100, DateTimeOffset.UtcNow));
            scenario.Scheduler = await SchedulerProcess.StartAsync(deployment, schedulerSettings, schedulerEnvironment);
            return scenario;
        }
        catch
        {
            await scenario.DisposeAsync();
            throw;
        }
    }

    public void Track(IAsyncDisposable disposable) => _more.Add(disposable);

    public async Task<IDatabase> DatabaseAsync(RedisServerProcess engine)
    {
        var connection = await EngineConnection.ConnectAsync(engine.Address);
        _more.Add(connection);
        return connection.GetDatabase();
    }

    public Task CompleteAsync(RepairVdisk job) => Deployment.Publisher.Publish(new VdiskRepairCompleted
    {
        Address = job.Address, VdiskId = job.VdiskId, Kind = job.Kind, Incident = job.Incident, Source = ClusterStateDeployment.Source(AgentNode),
    });

    /// <summary>The <paramref name="number"/>th job the scheduler dispatched (1-based), once it has come.</summary>
    public async Task<RepairVdisk> JobAsync(int number, TimeSpan? within = null)
    {
        await Eventually.TrueAsync(() => Jobs.Count >= number, within ?? TimeSpan.FromSeconds(60), $"repair job #{number} is dispatched");
        return Jobs.ElementAt(number - 1);
    }

    public Task<string> IncidentAsync(RedisServerProcess engine) => Deployment.IncidentAsync(engine.Address);

    public Task WaitForAsync(RedisServerProcess engine, EngineState state, TimeSpan? timeout = null) =>
        Deployment.WaitForEngineAsync(Primary.Contains(engine) ? PrimaryCluster : SlaveCluster, engine.Address, state, timeout ?? TimeSpan.FromSeconds(60));

    public Task<EngineState?> StateAsync(RedisServerProcess engine) =>
        Deployment.EngineStateAsync(Primary.Contains(engine) ? PrimaryCluster : SlaveCluster, engine.Address);

    public async ValueTask DisposeAsync()
    {
        if (Scheduler is not null) await Scheduler.DisposeAsync();
        try { await Deployment.Etcd.DeleteAsync(EtcdKeys.Agent(AgentNode)); } catch (Exception) { /* etcd gone: nothing to clean */ }
        try { await Deployment.Etcd.DeleteRangeAsync($"zerodisk/scheduler/{Deployment.Scope}-rs/"); } catch (Exception) { /* as above */ }
        if (_agentEndpoint is not null) await _agentEndpoint.StopAsync();
        foreach (var more in _more) await more.DisposeAsync();
        foreach (var engine in _engines) await engine.DisposeAsync();
        await Deployment.DisposeAsync();
    }
}
