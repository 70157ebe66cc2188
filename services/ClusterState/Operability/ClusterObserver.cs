using dotnet_etcd;
using ZeroDisk.ClusterState.Persistence;
using ZeroDisk.ClusterState.StorageEngines;
using ZeroDisk.ClusterState.Topology;
using ZeroDisk.Contracts;
using ZeroDisk.ClusterState.Extensions;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.ClusterState.Operability;

/// <summary>
/// Reads, every <see cref="ObserverOptions.Interval"/>, what an operator wants to see at a glance: engine states, shards
/// served by one side or none, incidents with their repair's progress (blocks and bytes, rate, ETA) and what blocks
/// them, dirty blocks per engine, the bus's error queues. The latest <see cref="ClusterObservation"/> is what the
/// gauges report and what the health verdict is made of; reading is all it does.
/// </summary>
public sealed class ClusterObserver(
    ClusterTopology topology,
    SagaStore sagas,
    EtcdClient etcd,
    ClusterStateOptions clusterOptions,
    ObserverOptions options,
    DirtyBlockCounter dirtyBlocks,
    ErrorQueueReader errorQueues,
    TimeProvider time,
    ILogger<ClusterObserver> logger) : BackgroundService
{
    public const string SchedulerWorkPrefix = EtcdKeys.OwnRecordsPrefix + "scheduler/";
    private const int DefaultBlockSize = 4096;

    private readonly RepairRateTracker _rates = new();
    private readonly Dictionary<string, DateTimeOffset> _unownedSince = new(StringComparer.Ordinal);
    private volatile ClusterObservation? _latest;
    private volatile string? _lastError;

    /// <summary>The latest observation (null before the first one).</summary>
    public ClusterObservation? Latest => _latest;

    /// <summary>Why the last observation failed (etcd unreachable…), or null when it succeeded.</summary>
    public string? LastError => _lastError;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                timeout.CancelAfter(options.Interval * 4 + TimeSpan.FromSeconds(10));
                _latest = await ObserveAsync(timeout.Token);
                _lastError = null;
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                if (_lastError is null) logger.LogWarning(ex, "Observing the clusters failed; the health verdict says so until it works again");
                _lastError = $"{ex.GetType().Name}: {ex.Message}";
            }
            await Task.Delay(options.Interval, time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    public async Task<ClusterObservation> ObserveAsync(CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var clusters = (await topology.ClustersAsync(ct)).ToDictionary(c => c.ClusterId, StringComparer.Ordinal);
        var vdisks = (await topology.VdisksAsync(ct)).Where(v => clusters.ContainsKey(v.Nbd.StorageClusterID) && clusters.ContainsKey(v.Nbd.SlaveStorageClusterID)).ToList();
        var blockSizes = await ValuesBySuffixAsync<VdiskStaticConfig>(EtcdKeys.VdiskStaticConfigSuffix, ct);
        var engineSagas = (await sagas.ListAsync<StorageEngineSaga>(ct)).GroupBy(s => s.Address, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);

        var layouts = vdisks.Select(v => (v.VdiskId,
            (IReadOnlyList<StorageServerConfig>)[.. clusters[v.Nbd.StorageClusterID].Config.Servers, .. clusters[v.Nbd.SlaveStorageClusterID].Config.Servers],
            blockSizes.GetValueOrDefault(v.VdiskId)?.BlockSize ?? DefaultBlockSize)).ToList();
        var dirty = await dirtyBlocks.CountAsync(layouts, ct);

        var engines = new List<EngineObservation>();
        foreach (var cluster in clusters.Values.OrderBy(c => c.ClusterId, StringComparer.Ordinal))
            for (var shard = 0; shard < cluster.Config.Servers.Count; shard++)
            {
                var server = cluster.Config.Servers[shard];
                var saga = AgreeingSaga(engineSagas, cluster.ClusterId, server);
                var counted = dirty.TryGetValue(server.Address, out var d);
                engines.Add(new EngineObservation(server.Address, cluster.ClusterId, shard, server.State, saga?.StateEnteredAt,
                    server.State == EngineState.Online ? null : saga?.Incident,
                    counted ? d.Blocks : null, counted ? d.Bytes : null, saga?.ShardUnavailable, saga?.HeldOutage is not null));
            }

        var shards = ShardsOf(clusters, vdisks);
        var agents = (await etcd.GetRangeAsync(EtcdKeys.AgentPrefix, cancellationToken: ct)).Kvs.Count;
        var repairs = await RepairsAsync(engines, shards, engineSagas, clusters, vdisks, blockSizes, agents, now, ct);
        var queues = await errorQueues.ReadAsync(ct);
        return new ClusterObservation(now, engines, shards, repairs, queues, agents);
    }

    private async Task<IReadOnlyList<RepairObservation>> RepairsAsync(List<EngineObservation> engines, IReadOnlyList<ShardObservation> shards,
        Dictionary<string, StorageEngineSaga> engineSagas, Dictionary<string, ClusterEntry> clusters, List<VdiskEntry> vdisks,
        IReadOnlyDictionary<string, VdiskStaticConfig> blockSizes, int agents, DateTimeOffset now, CancellationToken ct)
    {
        var incidents = engines.Where(e => e.State is EngineState.Offline or EngineState.RepairTmpOutage or EngineState.RepairFinalOutage).ToList();
        var live = new HashSet<string>(StringComparer.Ordinal);
        if (incidents.Count == 0)
        {
            _rates.Retain(live);
            _unownedSince.Clear();
            return [];
        }

        var owners = await ValuesBySuffixAsync<VdiskOwner>(EtcdKeys.VdiskOwnerSuffix, ct);
        var jobs = new Dictionary<string, RepairJobStatus>(StringComparer.Ordinal);
        foreach (var kv in (await etcd.GetRangeAsync(EtcdKeys.RepairJobPrefix, cancellationToken: ct)).Kvs)
            if (TryParse<RepairJobStatus>(kv.Value.ToStringUtf8()) is { } job) jobs[job.VdiskId] = job;
        var campaigns = (await etcd.GetRangeAsync(SchedulerWorkPrefix, cancellationToken: ct)).Kvs.Select(kv => kv.Key.ToStringUtf8()).ToList();
        var unownedSeen = new HashSet<string>(StringComparer.Ordinal);

        var repairs = new List<RepairObservation>();
        foreach (var engine in incidents)
        {
            var saga = AgreeingSaga(engineSagas, engine.ClusterId, clusters[engine.ClusterId].Config.Servers[engine.Shard]);
            var incident = engine.Incident ?? $"{engine.Address}@{engine.Since:O}";
            live.Add(incident);
            var blockSize = vdisks.Where(v => v.Nbd.StorageClusterID == engine.ClusterId || v.Nbd.SlaveStorageClusterID == engine.ClusterId)
                .Select(v => blockSizes.GetValueOrDefault(v.VdiskId)?.BlockSize ?? DefaultBlockSize).DefaultIfEmpty(DefaultBlockSize).First();

            long? total = null;
            double? rate = null;
            if (engine.DirtyBlocks is { } remaining && engine.State != EngineState.RepairFinalOutage)
                (total, rate) = _rates.Observe(incident, now, remaining);
            var affected = saga?.AffectedVdisks.Count ?? 0;
            var completed = saga?.CompletedVdisks.Count(saga.AffectedVdisks.Contains) ?? 0;
            var progress = engine.State switch
            {
                EngineState.Offline => 0,
                EngineState.RepairTmpOutage when total is > 0 => (double)(total.Value - engine.DirtyBlocks!.Value) / total.Value,
                _ => affected == 0 ? 1 : (double)completed / affected,
            };
            double? eta = engine.State != EngineState.RepairTmpOutage || engine.DirtyBlocks is not { } left ? null
                : left == 0 ? 0 : rate is > 0 ? left / rate.Value : null;

            var blocked = new List<RepairBlock>();
            if (engine.ShardUnavailable is { } why)
                blocked.Add(new RepairBlock(RepairBlockCodes.ShardUnavailable, $"the shard has no serving side: {why}",
                    "Bring back this engine or its twin (restart its redis-server); never declare the last copy permanent"));
            if (engine.State == EngineState.Offline && engine.ClassificationHeld)
                blocked.Add(new RepairBlock(RepairBlockCodes.ClassificationHeld, $"the {saga?.HeldOutage?.ToWire()} classification is held: no complete side of the shard serves ({saga?.HeldBecause ?? "its twin is down"})",
                    "Bring back the twin engine; the reconciler then applies the classification"));
            if (engine.State is EngineState.RepairTmpOutage or EngineState.RepairFinalOutage && saga is not null)
            {
                foreach (var twin in TwinsDown(engine, shards, engines))
                    blocked.Add(new RepairBlock(RepairBlockCodes.TwinDown, $"twin {twin.Address} is {twin.State.ToWire()}: the blocks to copy are on it",
                        $"Bring back {twin.Address} (its redis-server); the repair resumes by itself"));
                var incomplete = saga.AffectedVdisks.Where(v => !saga.CompletedVdisks.Contains(v)).ToList();
                if (incomplete.Count > 0 && !campaigns.Any(k => k.EndsWith($"/campaign/{engine.Address}", StringComparison.Ordinal)))
                    blocked.Add(new RepairBlock(RepairBlockCodes.NoCampaign, "no repair scheduler has recorded a campaign for this repair",
                        "Check that the repairscheduler runs (its /health/ready); it resumes recorded work and takes new transitions when it starts"));
                var noAgent = new List<string>();
                var lapsed = new List<string>();
                foreach (var vdisk in incomplete)
                {
                    if (owners.ContainsKey(vdisk))
                    {
                        if (jobs.GetValueOrDefault(vdisk) is { } job && now - job.HeartbeatAt > options.JobSilentAfter)
                            blocked.Add(new RepairBlock(RepairBlockCodes.JobSilent, $"the repair job of {vdisk} on node {job.Node} has been silent for {(now - job.HeartbeatAt).TotalSeconds:0} s",
                                $"Check node {job.Node}'s agent; once the job's lease lapses the vdisk is dispatched again"));
                        continue;
                    }
                    var key = $"{incident}|{vdisk}";
                    unownedSeen.Add(key);
                    var since = _unownedSince.TryGetValue(key, out var first) ? first : _unownedSince[key] = now;
                    if (agents == 0) noAgent.Add(vdisk);
                    else if (now - since >= options.UnownedAfter) lapsed.Add(vdisk);
                }
                if (noAgent.Count > 0)
                    blocked.Add(new RepairBlock(RepairBlockCodes.NoAgent, $"no node agent is registered to repair {string.Join(", ", noAgent)}",
                        "Start an nbdhost agent on a node (it registers under zerodisk/agents/); the scheduler then dispatches the jobs"));
                if (lapsed.Count > 0)
                    blocked.Add(new RepairBlock(RepairBlockCodes.LeaseLapsed, $"nobody has owned {string.Join(", ", lapsed)} for {options.UnownedAfter.TotalSeconds:0} s or more: its repair job's lease lapsed or the job was never taken",
                        "Look at the agents' logs (nbdhost agent); the scheduler dispatches the job again after Scheduler:DispatchTimeout"));
            }

            repairs.Add(new RepairObservation(engine.Address, engine.ClusterId, engine.State, saga?.Outage, engine.Incident, saga?.IncidentTraceId, engine.Since,
                engine.Since is { } since2 ? Math.Max(0, (now - since2).TotalSeconds) : 0, completed, affected,
                engine.DirtyBlocks, total, engine.DirtyBytes, total * blockSize, rate, rate * blockSize, eta, Math.Clamp(progress, 0, 1), blocked));
        }
        _rates.Retain(live);
        foreach (var gone in _unownedSince.Keys.Where(k => !unownedSeen.Contains(k)).ToList()) _unownedSince.Remove(gone);
        return repairs;
    }

    /// <summary>The other engines of every shard this engine is a side of that are neither online nor gone for good.</summary>
    private static IEnumerable<EngineObservation> TwinsDown(EngineObservation engine, IReadOnlyList<ShardObservation> shards, List<EngineObservation> engines) =>
        shards.Where(s => s.Engines.Contains(engine.Address))
            .SelectMany(s => s.Engines).Where(a => a != engine.Address).Distinct()
            .Select(a => engines.First(e => e.Address == a))
            .Where(t => t.State is not (EngineState.Online or EngineState.Rip));

    /// <summary>Each shard of each pair of clusters some vdisk mirrors; rip engines are no longer a side of it.</summary>
    private static IReadOnlyList<ShardObservation> ShardsOf(Dictionary<string, ClusterEntry> clusters, List<VdiskEntry> vdisks)
    {
        var shards = new List<ShardObservation>();
        foreach (var (primary, slave) in vdisks.Select(v => (v.Nbd.StorageClusterID, v.Nbd.SlaveStorageClusterID)).Distinct().OrderBy(p => p.StorageClusterID, StringComparer.Ordinal))
        {
            var p = clusters[primary].Config.Servers;
            var s = clusters[slave].Config.Servers;
            for (var i = 0; i < Math.Max(p.Count, s.Count); i++)
            {
                var sides = new[] { i < p.Count ? p[i] : null, i < s.Count ? s[i] : null }.OfType<StorageServerConfig>().ToList();
                var present = sides.Where(e => e.State != EngineState.Rip).ToList();
                shards.Add(new ShardObservation(primary, slave, i, sides.Select(e => e.Address).ToList(), present.Count(e => e.State == EngineState.Online), present.Count));
            }
        }
        return shards;
    }

    /// <summary>The engine's saga when it is about this cluster and agrees with the cluster config (the truth NBD servers obey).</summary>
    private static StorageEngineSaga? AgreeingSaga(Dictionary<string, StorageEngineSaga> sagas, string clusterId, StorageServerConfig server) =>
        sagas.GetValueOrDefault(server.Address) is { } saga && saga.ClusterId == clusterId && EngineStateNames.ToEngineState(saga.CurrentState) == server.State ? saga : null;

    private async Task<IReadOnlyDictionary<string, T>> ValuesBySuffixAsync<T>(string suffix, CancellationToken ct) where T : class
    {
        var values = new Dictionary<string, T>(StringComparer.Ordinal);
        foreach (var kv in await etcd.ScanSuffixAsync(clusterOptions.KeyScope, suffix, ct))
            if (TryParse<T>(kv.Value.ToStringUtf8()) is { } value)
                values[EtcdKeys.IdOf(kv.Key.ToStringUtf8(), suffix)!] = value;
        return values;
    }

    private static T? TryParse<T>(string json) where T : class
    {
        try
        {
            return ZeroDiskJson.Deserialize<T>(json);
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }
}
