using Etcdserverpb;
using Google.Protobuf;
using ZeroDisk.Storage.Ownership;

namespace ZeroDisk.NbdHost.Agent.Tests;

/// <summary>
/// One vdisk on private single-shard Redis engines with a tlog cluster of three real <c>nbdhost tlog</c> servers
/// (k = 2), served by a real <c>nbdhost serve</c> process that can be killed and started again.
/// </summary>
public sealed class JournaledVdisk : IAsyncDisposable
{
    private readonly InfrastructureEndpoints _infra;
    private readonly TempDirectory _dir;
    private readonly List<string> _keys = [];
    private int _serves;

    private JournaledVdisk(InfrastructureEndpoints infra, TempDirectory dir, RedisClusters clusters, List<TlogServerProcess> tlogs)
    {
        _infra = infra;
        _dir = dir;
        Clusters = clusters;
        Tlogs = tlogs;
        Etcd = new EtcdGrpc(infra.EtcdEndpoints);
    }

    public string VdiskId { get; } = TestNames.Unique("vd");
    public string ServerId { get; } = TestNames.Unique("nbd");
    public string PrimaryClusterId { get; } = TestNames.Unique("primary");
    public string SlaveClusterId { get; } = TestNames.Unique("slave");
    public RedisClusters Clusters { get; }
    public IReadOnlyList<TlogServerProcess> Tlogs { get; }
    public EtcdGrpc Etcd { get; }
    public NbdHostProcess? Serve { get; private set; }
    public int Port { get; } = FreePort.Next();
    public string Uri => $"nbd://127.0.0.1:{Port}/{VdiskId}";
    public string File(string name) => _dir.File(name);

    public static async Task<JournaledVdisk> CreateAsync(string name)
    {
        var infra = await SharedInfrastructure.GetAsync();
        var dir = new TempDirectory(name);
        var clusters = await RedisClusters.StartAsync(shards: 1);
        var tlogs = new List<TlogServerProcess>();
        for (var i = 0; i < 3; i++) tlogs.Add(await TlogServerProcess.StartAsync(Path.Combine(dir.Path, $"tlog{i}")));
        var vdisk = new JournaledVdisk(infra, dir, clusters, tlogs);
        var tlogCluster = TestNames.Unique("tlog");
        await vdisk.PutAsync(EtcdKeys.StorageClusterConfig(vdisk.PrimaryClusterId), new StorageClusterConfig([new StorageServerConfig(clusters.Primary[0].Address)]));
        await vdisk.PutAsync(EtcdKeys.StorageClusterConfig(vdisk.SlaveClusterId), new StorageClusterConfig([new StorageServerConfig(clusters.Slave[0].Address)]));
        await vdisk.PutAsync(EtcdKeys.TlogClusterConfig(tlogCluster), new TlogClusterConfig(tlogs.Select(t => t.Address).ToList()));
        await vdisk.PutAsync(EtcdKeys.VdiskStaticConfig(vdisk.VdiskId), new VdiskStaticConfig(4096, false, 1, "db"));
        await vdisk.PutAsync(EtcdKeys.VdiskNbdConfig(vdisk.VdiskId), new VdiskNbdConfig(vdisk.PrimaryClusterId, vdisk.SlaveClusterId, tlogCluster));
        await vdisk.PutAsync(EtcdKeys.NbdServerVdisks(vdisk.ServerId), new NbdServerVdisksConfig([vdisk.VdiskId]));
        return vdisk;
    }

    /// <summary>Writes a key of the layout (removed again at dispose).</summary>
    public async Task PutAsync<T>(string key, T value)
    {
        if (!_keys.Contains(key)) _keys.Add(key);
        await Etcd.PutAsync(key, value, 0, CancellationToken.None);
    }

    /// <summary>Starts <c>nbdhost serve</c> and returns the owner epoch it serves the vdisk under (its tlog records are keyed by it).</summary>
    public async Task<long> StartServeAsync(long previousEpoch = 0)
    {
        Serve = NbdHostProcess.Start(["serve", "--id", ServerId, "--listen", $"127.0.0.1:{Port}", "--etcd", _infra.EtcdEndpoints],
            _dir.File($"serve-{++_serves}.log"), new Dictionary<string, string>(_infra.ToEnvironment())
            {
                // Engine failover under a loaded shared machine is not what these tests are about (a short command
                // timeout can mark both sides of the one shard failed: EIO).
                ["Storage__CommandTimeout"] = "00:00:05",
            });
        var serve = Serve;
        await TlogServerProcess.WaitListeningAsync(Port, () => serve.HasExited ? serve.Stderr() : null);
        // A server started after a crash serves once its predecessor's lease lapsed, under a higher epoch.
        var epoch = await Eventually.ValueAsync(async () => (await Etcd.GetAsync<VdiskOwner>(EtcdKeys.VdiskOwner(VdiskId), CancellationToken.None))?.Value.Epoch ?? 0,
            e => e > previousEpoch, TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(50));
        await Eventually.UntilAsync(async () => (await ExternalProcess.RunAsync("nbdinfo", [Uri], TimeSpan.FromSeconds(10))).ExitCode == 0,
            "the vdisk to be exported", TimeSpan.FromSeconds(30));
        return epoch;
    }

    public async ValueTask DisposeAsync()
    {
        if (Serve is not null) await Serve.DisposeAsync();
        foreach (var t in Tlogs) await t.DisposeAsync();
        foreach (var key in _keys.Append(EtcdKeys.VdiskOwner(VdiskId)))
            await Etcd.Kv.DeleteRangeAsync(new DeleteRangeRequest { Key = ByteString.CopyFromUtf8(key) });
        Etcd.Dispose();
        await Clusters.DisposeAsync();
        _dir.Dispose();
    }
}
