using dotnet_etcd;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using ZeroDisk.Contracts;
using ZeroDisk.LocalStack;
using ZeroDisk.NbdHost.Configuration;
using ZeroDisk.NbdHost.Serving;
using ZeroDisk.ServiceDefaults.Etcd;
using ZeroDisk.Storage;

/// <summary>
/// The storage side of <c>nbdhost serve</c>, composed as the product composes it (AddVdiskStorage), in this process over
/// one vdisk on a private primary and slave cluster of real redis-server processes; its log lines are kept.
/// </summary>
internal sealed class ResyncServer(IHost host, EtcdClient etcd, VdiskLayout layout, ListLoggerProvider logs) : IAsyncDisposable
{
    private readonly Dictionary<RedisServerProcess, ConnectionMultiplexer> _inspectors = [];

    public VdiskLayout Layout => layout;
    public ListLoggerProvider Logs => logs;
    public RedisClusters Clusters => Layout.Clusters;
    public int BlockSize => Layout.BlockSize;
    public string VdiskId => Layout.VdiskId;
    public RedisKey BlocksKey => RedisKeys.Blocks(VdiskId);
    public VdiskStorage Vdisk => host.Services.GetRequiredService<VdiskCatalog>().Find(VdiskId) ?? throw new InvalidOperationException($"vdisk {VdiskId} not exported");

    public static async Task<ResyncServer> StartAsync()
    {
        var infra = await LocalInfrastructure.GetAsync();
        var etcd = EtcdExtensions.CreateClient(infra.EtcdEndpoints);
        var layout = await VdiskLayout.WriteAsync(etcd, await RedisClusters.StartAsync(shards: 1));
        var logs = new ListLoggerProvider();
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders().AddProvider(logs).SetMinimumLevel(LogLevel.Information);
        // A healthy engine on a busy 2-core machine can miss the product's command timeout; killed engines fail at once anyway.
        builder.Configuration["Storage:CommandTimeout"] = "00:00:02";
        builder.AddVdiskStorage(new ServeOptions(layout.ServerId, infra.EtcdEndpoints));
        var host = builder.Build();
        await host.StartAsync();
        await host.Services.GetRequiredService<ServerConfigWatcher>().FirstLoad;
        return new ResyncServer(host, etcd, layout, logs);
    }

    /// <summary>Sets one engine's state in etcd (what ClusterState does) and waits until the vdisk has taken it.</summary>
    public async Task SetStateAsync(ClusterSide side, int shard, EngineState state)
    {
        await Layout.PutStateAsync(etcd, side == ClusterSide.Primary ? Layout.PrimaryClusterId : Layout.SlaveClusterId, shard, state);
        await Eventually.TrueAsync(() => Vdisk.Topology.Slot(shard, side).State == state, TimeSpan.FromSeconds(10), $"vdisk to see {side} {shard} {state}");
    }

    public async Task WriteRandomBlocksAsync(long blocks)
    {
        var chunk = new byte[64 * BlockSize];
        for (long offset = 0; offset < blocks * BlockSize; offset += chunk.Length)
        {
            Random.Shared.NextBytes(chunk);
            await Vdisk.WriteAsync(offset, chunk.AsMemory(0, (int)Math.Min(chunk.Length, blocks * BlockSize - offset)), false, default);
        }
    }

    /// <summary>A direct connection to an engine (whole-hash reads of a loaded machine's engines take long).</summary>
    public IDatabase Inspect(RedisServerProcess engine)
    {
        if (!_inspectors.TryGetValue(engine, out var connection))
        {
            var options = ConfigurationOptions.Parse(engine.Address);
            options.AsyncTimeout = options.SyncTimeout = 60_000;
            _inspectors[engine] = connection = ConnectionMultiplexer.Connect(options);
        }
        return connection.GetDatabase();
    }

    public async ValueTask DisposeAsync()
    {
        await host.StopAsync();
        host.Dispose();
        foreach (var connection in _inspectors.Values) await connection.DisposeAsync();
        await etcd.DeleteRangeAsync(Layout.ServerId);
        foreach (var key in new[] { EtcdKeys.VdiskStaticConfig(VdiskId), EtcdKeys.VdiskNbdConfig(VdiskId), EtcdKeys.StorageClusterConfig(Layout.PrimaryClusterId), EtcdKeys.StorageClusterConfig(Layout.SlaveClusterId) })
            await etcd.DeleteAsync(key);
        await Clusters.DisposeAsync();
    }
}
