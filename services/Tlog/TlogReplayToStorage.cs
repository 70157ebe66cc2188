using ZeroDisk.Storage.Ownership;
using Microsoft.Extensions.Logging;
using ZeroDisk.Contracts;
using ZeroDisk.Storage.Failover;
using ZeroDisk.Storage;

namespace ZeroDisk.Tlog;

/// <summary>
/// Replays a vdisk's tlog into a vdisk's storage clusters (the same vdisk after a loss, or another one as a
/// restore target), through the storage's own write path, so sharding, mirroring and deletes are exactly those
/// of a live write. The target must not be served: the replay claims its owner key (kind repair) for its duration,
/// and writes nothing back into the tlog.
/// </summary>
public static class TlogReplayToStorage
{
    public static async Task<ReplayResult> RunAsync(IReadOnlyList<string> servers, string sourceVdiskId, string targetVdiskId, string etcdEndpoints,
        ReplayLimit limit, TlogCredentials credentials, ILoggerFactory loggers, CancellationToken ct)
    {
        var logger = loggers.CreateLogger("replay");
        using var etcd = new EtcdGrpc(etcdEndpoints);
        var (claim, holder) = await VdiskOwnership.TryClaimAsync(etcd, targetVdiskId, $"replay@{Environment.MachineName}", VdiskOwnerKind.Repair,
            TimeSpan.FromSeconds(10), logger, ct);
        if (claim is null)
            throw new InvalidOperationException($"vdisk {targetVdiskId} is owned by {holder?.Server} ({holder?.Kind.ToWire()}); stop it before replaying into its storage");
        await using (claim)
        {
            var config = await ReadConfigAsync(etcd, targetVdiskId, ct);
            // Replaying a vdisk into itself: the claim just taken is the current owner epoch the tlog servers ask for.
            if (sourceVdiskId == targetVdiskId) credentials = credentials with { Epoch = claim.Owner.Epoch };
            var (selected, stats) = await TlogReplay.SelectAsync(servers, sourceVdiskId, limit, credentials, logger, ct);
            // An offline rebuild: no VM waits on it, so a slow engine is waited for rather than failed over.
            var options = new StorageOptions { CommandTimeout = TimeSpan.FromSeconds(10), ConnectTimeout = TimeSpan.FromSeconds(5) };
            var events = new ConsoleStderrEvents();
            await using var engines = new StorageEngines(options, events, loggers.CreateLogger<StorageEngines>());
            foreach (var address in config.Primary.Servers.Concat(config.Slave.Servers).Select(s => s.Address)) // identity is checked, never assumed
                engines.Get(address).ExpectedIdentity = await etcd.GetStringAsync(EtcdKeys.EngineIdentity(address), ct) ?? "";
            var storage = new VdiskStorage(config, claim.Owner.Epoch, engines, NoWriteJournal.Instance, options, events, loggers);
            try
            {
                await storage.ApplyAsync(config);
                var zeroes = new byte[storage.BlockSize];
                foreach (var record in selected)
                {
                    if (!record.Data.IsEmpty && record.Data.Length != storage.BlockSize)
                        throw new InvalidDataException($"{sourceVdiskId} {record.Key}: {record.Data.Length}-byte block, the target has {storage.BlockSize}-byte blocks");
                    await storage.WriteAsync(record.BlockIndex * storage.BlockSize, record.Data.IsEmpty ? zeroes : record.Data, fua: false, ct);
                }
                await storage.FlushAsync(ct);
                return stats;
            }
            finally
            {
                await storage.CloseAsync();
            }
        }
    }

    private static async Task<VdiskConfig> ReadConfigAsync(EtcdGrpc etcd, string vdiskId, CancellationToken ct)
    {
        async Task<T> Required<T>(string key) where T : class => (await etcd.GetAsync<T>(key, ct))?.Value ?? throw new InvalidOperationException($"etcd has no {key}");
        var nbd = await Required<VdiskNbdConfig>(EtcdKeys.VdiskNbdConfig(vdiskId));
        return new VdiskConfig(vdiskId, await Required<VdiskStaticConfig>(EtcdKeys.VdiskStaticConfig(vdiskId)), nbd,
            await Required<StorageClusterConfig>(EtcdKeys.StorageClusterConfig(nbd.StorageClusterID)),
            await Required<StorageClusterConfig>(EtcdKeys.StorageClusterConfig(nbd.SlaveStorageClusterID)));
    }
}
