using dotnet_etcd;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using ZeroDisk.NbdHost.Configuration;
using ZeroDisk.NbdHost.Serving;
using ZeroDisk.ServiceDefaults.Engines;
using ZeroDisk.Storage.Ownership;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.NbdHost.Tests.Harness;

/// <summary>
/// One NBD server's storage in process (engines, catalog, etcd watcher — what <c>nbdhost serve</c> runs) over a
/// private primary and slave cluster of real redis-server processes, configured through the shared etcd under
/// unique ids. <see cref="RestartServerAsync"/> drops the whole server state, as a crashed process would.
/// </summary>
public sealed class StorageHarness : IAsyncDisposable
{
    private readonly Dictionary<string, ConnectionMultiplexer> _inspectors = [];
    private StorageEngines? _engines;
    private VdiskCatalog? _catalog;
    private VdiskOwnerClaims? _owners;
    private ServerConfigWatcher? _watcher;

    private StorageHarness(VdiskLayout layout, EtcdClient etcd, string etcdEndpoints, StorageOptions options)
    {
        Layout = layout;
        Etcd = etcd;
        EtcdEndpoints = etcdEndpoints;
        Options = options;
    }

    /// <summary>What is written to etcd: the clusters, the vdisk and the server that exports it.</summary>
    public VdiskLayout Layout { get; }

    /// <summary>
    /// The product default (500 ms) bounds a hung engine's stall; on the shared 2-core test machine, with every
    /// helper's tests running, a healthy redis-server can miss it for want of CPU. Engines killed by tests fail
    /// with a connection reset at once, which no timeout affects.
    /// </summary>
    public static readonly StorageOptions TestStorageOptions = new() { CommandTimeout = TimeSpan.FromSeconds(2) };

    public RedisClusters Clusters => Layout.Clusters;
    public EtcdClient Etcd { get; }
    public string EtcdEndpoints { get; }
    public StorageOptions Options { get; }
    public int BlockSize => Layout.BlockSize;
    public string ServerId => Layout.ServerId;
    public string VdiskId => Layout.VdiskId;
    public string PrimaryClusterId => Layout.PrimaryClusterId;
    public string SlaveClusterId => Layout.SlaveClusterId;
    public RecordingStderrEvents Events { get; } = new();
    public ListLoggerProvider Logs { get; } = new();
    public VdiskCatalog Catalog => _catalog ?? throw new InvalidOperationException("server not running");
    public VdiskStorage Vdisk => Catalog.Find(VdiskId) ?? throw new InvalidOperationException($"vdisk {VdiskId} not exported; the server's last log lines:\n{LastLogLines()}");

    private string LastLogLines() => string.Join("\n", Logs.Lines.TakeLast(15));

    /// <param name="inProcessServer">False when the test runs <c>nbdhost serve</c> as a process (<see cref="ServeProcess"/>) instead.</param>
    public static async Task<StorageHarness> StartAsync(int shards = 2, int blockSize = 4096, StorageOptions? options = null, bool inProcessServer = true)
    {
        var infra = await SharedInfrastructure.GetAsync();
        var etcd = EtcdExtensions.CreateClient(infra.EtcdEndpoints);
        var layout = await VdiskLayout.WriteAsync(etcd, await RedisClusters.StartAsync(shards), blockSize);
        var harness = new StorageHarness(layout, etcd, infra.EtcdEndpoints, options ?? TestStorageOptions);
        if (inProcessServer)
        {
            await harness.StartServerAsync();
            await harness.WaitForExportAsync();
        }
        return harness;
    }

    public IReadOnlyList<RedisServerProcess> Engines(ClusterSide side) => side == ClusterSide.Primary ? Clusters.Primary : Clusters.Slave;

    public string ClusterId(ClusterSide side) => side == ClusterSide.Primary ? PrimaryClusterId : SlaveClusterId;

    /// <summary>Writes a cluster's config with each engine's state as <paramref name="state"/> says.</summary>
    public Task WriteClusterAsync(ClusterSide side, Func<int, EngineState> state) => Layout.WriteClusterAsync(Etcd, ClusterId(side), state);

    /// <summary>Sets one engine's state in etcd and waits until the running vdisk has taken it.</summary>
    public async Task SetStateAsync(ClusterSide side, int shard, EngineState state)
    {
        await PutStateAsync(side, shard, state);
        await WaitUntilAsync(() => Vdisk.Topology.Slot(shard, side).State == state, TimeSpan.FromSeconds(10), $"vdisk to see {side} {shard} {state}");
    }

    /// <summary>Sets one engine's state in etcd (what ClusterState does), without waiting for anyone to see it.</summary>
    public Task PutStateAsync(ClusterSide side, int shard, EngineState state) => Layout.PutStateAsync(Etcd, ClusterId(side), shard, state);

    /// <summary>What the in-process server is started with: this layout's server id and the shared etcd.</summary>
    private ServeOptions Serve => new(ServerId, EtcdEndpoints);

    public async Task StartServerAsync()
    {
        var loggers = LoggerFactory.Create(b => b.AddProvider(Logs).SetMinimumLevel(LogLevel.Information));
        _engines = new StorageEngines(Options, Events, loggers.CreateLogger<StorageEngines>());
        var serve = Serve;
        // The harness hands ownership over cleanly on every stop; lease expiry after a crash is the agent tests' subject.
        _owners = new VdiskOwnerClaims(serve, new OwnershipOptions(), Options, loggers.CreateLogger<VdiskOwnerClaims>());
        _catalog = new VdiskCatalog(_engines, NoWriteJournal.Instance, Options, Events, _owners, loggers);
        _watcher = new ServerConfigWatcher(serve, Etcd, _catalog, _engines, loggers.CreateLogger<ServerConfigWatcher>());
        await _watcher.StartAsync(CancellationToken.None);
        await _watcher.FirstLoad;
    }

    /// <summary>
    /// A fresh layout is always exported, but not always by the first read: on a loaded machine a step of it (an etcd
    /// call, an engine's identity check) can fail, and the server then exports the vdisk at its next periodic re-read,
    /// as in production. Tests start from an exported vdisk, so they wait for that re-read rather than fail.
    /// </summary>
    private async Task WaitForExportAsync()
    {
        var deadline = DateTime.UtcNow + 3 * Serve.RereadInterval;
        while (Catalog.Find(VdiskId) is null)
        {
            if (DateTime.UtcNow > deadline)
                throw new InvalidOperationException($"vdisk {VdiskId} of a fresh layout was not exported within three re-reads; the server's last log lines:\n{LastLogLines()}");
            await Task.Delay(50);
        }
    }

    /// <summary>Drops everything the server held in memory, as a crash would, and starts it again.</summary>
    public async Task RestartServerAsync()
    {
        await StopServerAsync();
        await StartServerAsync();
    }

    public async Task StopServerAsync()
    {
        if (_watcher is not null) await _watcher.StopAsync(CancellationToken.None);
        if (_catalog is not null) await _catalog.DisposeAsync();
        if (_owners is not null) await _owners.DisposeAsync();
        if (_engines is not null) await _engines.DisposeAsync();
        _owners = null;
        _watcher = null;
        _catalog = null;
        _engines = null;
    }

    /// <summary>A plain Redis client on one engine, to check what is stored where.</summary>
    public IDatabase Inspect(RedisServerProcess engine)
    {
        lock (_inspectors)
        {
            if (!_inspectors.TryGetValue(engine.Address, out var connection))
            {
                var options = EngineConnection.Options(engine.Address);
                options.AbortOnConnectFail = false;
                options.AsyncTimeout = options.SyncTimeout = 60_000; // whole-hash reads of a loaded machine's engines
                _inspectors[engine.Address] = connection = ConnectionMultiplexer.Connect(options);
            }
            return connection.GetDatabase();
        }
    }

    public RedisKey BlocksKey => RedisKeys.Blocks(VdiskId);

    /// <summary>The vdisk's owner key (one writer per vdisk) as etcd holds it now, null when nobody owns it.</summary>
    public async Task<VdiskOwner?> OwnerAsync() => await Etcd.GetJsonAsync<VdiskOwner>(EtcdKeys.VdiskOwner(VdiskId)) is { } v ? v.Value : null;

    /// <summary>Every block the engine stores for the vdisk, (index, bytes) in index order, to compare two sides.</summary>
    public async Task<IReadOnlyList<(long Block, byte[] Content)>> StoredBlocksAsync(RedisServerProcess engine) =>
        (await Inspect(engine).HashGetAllAsync(BlocksKey)).Select(e => ((long)e.Name, (byte[])e.Value!)).OrderBy(e => e.Item1).ToList();

    public RedisKey DirtyKey(RedisServerProcess engine) => RedisKeys.DirtyBlocks(VdiskId, engine.Address);

    /// <summary>
    /// md5 (upper-case hex, as <see cref="VdiskModel.ExpectedMd5"/>) of the first <paramref name="blocks"/> blocks as
    /// one side alone holds them, read straight from its engines (absent = zeroes); a stored block of the wrong size fails.
    /// </summary>
    public async Task<string> SideMd5Async(ClusterSide side, long blocks)
    {
        using var md5 = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.MD5);
        var zero = new byte[BlockSize];
        var engines = Engines(side);
        for (long b = 0; b < blocks; b++)
        {
            var stored = (byte[]?)await Inspect(engines[(int)(b % engines.Count)]).HashGetAsync(BlocksKey, b);
            if (stored is not null && stored.Length != BlockSize)
                throw new InvalidOperationException($"block {b} on the {side} side has {stored.Length} bytes, not {BlockSize}");
            md5.AppendData(stored ?? zero);
        }
        return Convert.ToHexString(md5.GetHashAndReset());
    }

    /// <summary>Writes random content over the first <paramref name="blocks"/> blocks through the vdisk, 64 blocks per request.</summary>
    public async Task WriteRandomBlocksAsync(long blocks)
    {
        var chunk = new byte[64 * BlockSize];
        for (long offset = 0; offset < blocks * BlockSize; offset += chunk.Length)
        {
            Random.Shared.NextBytes(chunk);
            await Vdisk.WriteAsync(offset, chunk.AsMemory(0, (int)Math.Min(chunk.Length, blocks * BlockSize - offset)), false, default);
        }
    }

    /// <summary>
    /// Another server's owner key on the vdisk, lapsing after <paramref name="ttl"/> (a crashed owner's lease): a server
    /// started now connects the engines but opens the vdisk only once the key is gone.
    /// </summary>
    public async Task HoldVdiskElsewhereAsync(string owner, TimeSpan ttl)
    {
        var lease = await Etcd.LeaseGrantAsync(new Etcdserverpb.LeaseGrantRequest { TTL = (long)ttl.TotalSeconds });
        await Etcd.PutAsync(new Etcdserverpb.PutRequest
        {
            Key = EtcdJson.Utf8(EtcdKeys.VdiskOwner(VdiskId)),
            Value = EtcdJson.Utf8(ZeroDiskJson.Serialize(new VdiskOwner(owner, VdiskOwnerKind.Vm, 1))),
            Lease = lease.ID,
        });
    }

    /// <summary>
    /// 3,000 keys in the engine's AOF base (rewritten now), beside the vdisk's: restarted with
    /// <see cref="RedisServerProcess.RestartLoadingSlowlyAsync"/> at a millisecond per key, it answers -LOADING for 3 s.
    /// </summary>
    public async Task GiveALargeDatasetAsync(RedisServerProcess engine)
    {
        var db = Inspect(engine);
        await Task.WhenAll(Enumerable.Range(0, 3000).Select(i => db.StringSetAsync($"filler:{i}", "x")));
        await db.ExecuteAsync("BGREWRITEAOF");
        await Eventually.UntilAsync(async () => (string?)await db.ExecuteAsync("INFO", "persistence") is { } info
                && info.Contains("aof_rewrite_in_progress:0") && info.Contains("aof_rewrite_scheduled:0"),
            "the AOF rewrite to finish");
    }

    public static Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, string what) => Eventually.TrueAsync(condition, timeout, what);

    public async ValueTask DisposeAsync()
    {
        await StopServerAsync();
        foreach (var connection in _inspectors.Values) await connection.DisposeAsync();
        await Etcd.DeleteRangeAsync(ServerId);
        foreach (var key in new[] { EtcdKeys.VdiskStaticConfig(VdiskId), EtcdKeys.VdiskNbdConfig(VdiskId), EtcdKeys.StorageClusterConfig(PrimaryClusterId), EtcdKeys.StorageClusterConfig(SlaveClusterId) })
            await Etcd.DeleteAsync(key);
        await Clusters.DisposeAsync();
    }
}
