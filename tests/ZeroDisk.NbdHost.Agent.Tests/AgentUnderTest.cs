using ZeroDisk.Storage.Ownership;
using Etcdserverpb;
using Google.Protobuf;
using ZeroDisk.NodeAgent;

namespace ZeroDisk.NbdHost.Agent.Tests;

/// <summary>A real <c>nbdhost agent</c> process for one node, with its own log and state directories.</summary>
public sealed class AgentUnderTest : IAsyncDisposable
{
    private readonly InfrastructureEndpoints _infra;
    private readonly string[] _extra;
    private readonly IReadOnlyDictionary<string, string> _environment;
    private NbdHostProcess? _process;
    private int _generation;

    private AgentUnderTest(InfrastructureEndpoints infra, string node, string root, string[] extra, IReadOnlyDictionary<string, string>? environment)
    {
        _infra = infra;
        _environment = environment is null ? infra.ToEnvironment() : infra.ToEnvironment().Concat(environment).ToDictionary();
        Node = node;
        Root = root;
        _extra = extra;
        Etcd = new EtcdGrpc(infra.EtcdEndpoints);
    }

    public string Node { get; }
    public string Root { get; }
    public string LogDirectory => Path.Combine(Root, "log");
    public string StateDirectory => Path.Combine(Root, "state");
    public EtcdGrpc Etcd { get; }
    public string Stderr => _process?.Stderr() ?? "";

    public static Task<AgentUnderTest> StartAsync(InfrastructureEndpoints infra, string node, string root, params string[] extra) =>
        StartAsync(infra, node, root, null, extra);

    /// <param name="environment">Added to the agent's environment, which its children inherit (e.g. <c>Storage__*</c> settings of a repair).</param>
    public static async Task<AgentUnderTest> StartAsync(InfrastructureEndpoints infra, string node, string root,
        IReadOnlyDictionary<string, string>? environment, params string[] extra)
    {
        var agent = new AgentUnderTest(infra, node, root, extra, environment);
        await agent.RestartAsync();
        return agent;
    }

    /// <summary>Starts the agent (again, on the same directories) and waits until it registered in etcd.</summary>
    public async Task RestartAsync()
    {
        Directory.CreateDirectory(Root);
        var started = DateTimeOffset.UtcNow;
        _process = NbdHostProcess.Start(
            ["agent", "--node", Node, "--log-dir", LogDirectory, "--state-dir", StateDirectory, "--etcd", _infra.EtcdEndpoints, .. _extra],
            Path.Combine(Root, $"agent-{++_generation}.stderr"), _environment);
        var process = _process;
        await Eventually.UntilAsync(async () =>
        {
            if (process.HasExited) throw new InvalidOperationException($"agent {Node} exited: {process.Stderr()}");
            return await Etcd.GetAsync<AgentRegistration>(EtcdKeys.Agent(Node), CancellationToken.None) is { } registration
                && registration.Value.HeartbeatAt >= started;
        }, $"agent {Node} registers", TimeSpan.FromSeconds(60), detail: process.Stderr);
    }

    public Task KillAsync() => _process?.KillAsync() ?? Task.CompletedTask;

    public ChildPaths PathsOf(ProcessRole role, string id) => ChildPaths.For(LogDirectory, StateDirectory, ChildSpec.NameOf(role, id));

    /// <summary>The pid of a child once the agent supervises it (its record holds the pid).</summary>
    public async Task<int> WaitForPidAsync(ProcessRole role, string id, TimeSpan timeout)
    {
        var recordFile = PathsOf(role, id).RecordFile;
        var (started, pid) = await Eventually.PollAsync(
            () => Task.FromResult(File.Exists(recordFile) && ZeroDiskJson.Deserialize<ChildRecord>(File.ReadAllText(recordFile)) is { Pid: > 0 } record ? record.Pid : 0),
            pid => pid > 0, timeout, TimeSpan.FromMilliseconds(20), ex => ex is IOException or System.Text.Json.JsonException); // a record being replaced
        return started ? pid : throw new TimeoutException($"{role.ToWire()} {id} was not started within {timeout}: {Stderr}");
    }

    public async Task DeleteKeysAsync(params string[] keys)
    {
        foreach (var key in keys) await Etcd.Kv.DeleteRangeAsync(new DeleteRangeRequest { Key = ByteString.CopyFromUtf8(key) });
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is not null) await _process.DisposeAsync();
        await RabbitMqManagement.DeleteEndpointsAsync(_infra, $"agent-{Node}");
        Etcd.Dispose();
    }
}
