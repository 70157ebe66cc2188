using dotnet_etcd;
using Microsoft.Extensions.Logging;
using ZeroDisk.ServiceDefaults.Etcd;
using ZeroDisk.ClusterState.Topology;
using ZeroDisk.Contracts;

namespace ZeroDisk.ClusterState.StorageEngines;

public enum LastSideOutcome
{
    /// <summary>The shard keeps a serving side: the report is handled as any single failure.</summary>
    Proceed,
    /// <summary>
    /// The report is not believed: the engine answers a probe while its twin is down, or it holds writes its online twin
    /// missed (it is the shard's only complete side, reported before the stale twin).
    /// </summary>
    Refuse,
    /// <summary>Neither side answers: a genuine double failure, the shard is unavailable.</summary>
    ShardUnavailable,
}

public enum ServeAloneOutcome
{
    /// <summary>A twin serves the shard: the engine is repaired from it as usual.</summary>
    TwinServes,
    /// <summary>No twin serves, and the engine is the shard's complete side: it serves again at once.</summary>
    ServeAlone,
    /// <summary>No twin serves, and the engine may have missed writes: its repair waits until a complete side serves.</summary>
    Hold,
}

/// <summary>Whether an engine that is back may serve its shard while its twins are down, and why.</summary>
public sealed record ServeAloneVerdict(ServeAloneOutcome Outcome, string Reason);

/// <summary>What the check found, and the revisions of the twins' cluster configs it read (the commit compares them).</summary>
public sealed record LastSideVerdict(LastSideOutcome Outcome, string Reason, IReadOnlyDictionary<string, long> TwinConfigRevisions);

/// <summary>One twin of an engine: the engine at the same shard index of a cluster paired with the engine's cluster.</summary>
public sealed record TwinEngine(string ClusterId, long ConfigRevision, StorageServerConfig Server);

/// <summary>
/// Transient double failures heal by themselves: a failure report that would leave a shard with no serving side (its twin is not online)
/// is checked before it changes etcd. Both engines are probed; if the reported one answers, the report is refused
/// (a stall the reporting server saw, not a failure); if neither answers, the failure is genuine and the shard is
/// unavailable. The twins' config revisions go into the commit, so two reports of twins racing each other cannot
/// both pass as single failures. A report whose twin is online is checked too, for the reverse order: if the reported
/// engine holds writes the twin missed (<see cref="StaleTwinEvidence"/>), the twin failed first and only its report is
/// late, so the reported engine is the shard's only complete side and stays online.
/// </summary>
public sealed class LastServingSideCheck(ClusterTopology topology, EtcdClient etcd, ILogger<LastServingSideCheck> logger)
{
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan ProbePause = TimeSpan.FromMilliseconds(300);
    private const int ProbeAttempts = 3;

    /// <param name="snapshot">What the report already read (one snapshot per report); null: read it now.</param>
    public async Task<LastSideVerdict> CheckAsync(string address, TopologySnapshot? snapshot, CancellationToken ct)
    {
        var shard = Shard(address, snapshot ?? await topology.SnapshotAsync(ct));
        var twins = shard.Twins.Select(p => p.Twin).ToList();
        var revisions = twins.GroupBy(t => t.ClusterId).ToDictionary(g => g.Key, g => g.First().ConfigRevision, StringComparer.Ordinal);
        var down = twins.Where(t => !IsServing(t.Server.State)).ToList();
        if (down.Count == 0)
        {
            var online = shard.Twins.Where(p => p.Twin.Server.State == EngineState.Online).ToList();
            if (shard.Engine is { } engine && await StaleTwinEvidence.OutlivedTwinsAsync(engine, online, ct) is { } stale)
            {
                logger.LogWarning("Failure report of {Address} refused: it is its shard's only complete side ({Evidence}); the twin's own failure report takes the twin offline first",
                    address, stale);
                return new(LastSideOutcome.Refuse, $"only complete side of its shard: {stale}: report not believed", revisions);
            }
            return new(LastSideOutcome.Proceed, "the twin serves the shard", revisions);
        }

        var downText = string.Join(", ", down.Select(t => $"{t.Server.Address} ({t.Server.State.ToWire()})"));
        var engineAnswers = await AnswersAsync(address, ct);
        var twinsAnswering = new List<string>();
        foreach (var twin in down)
            if (await AnswersAsync(twin.Server.Address, ct)) twinsAnswering.Add(twin.Server.Address);
        var probes = $"probe: {address} {(engineAnswers ? "answers" : "does not answer")}, twin(s) answering: {(twinsAnswering.Count == 0 ? "none" : string.Join(", ", twinsAnswering))}";
        if (engineAnswers)
        {
            logger.LogWarning("Failure report of {Address} refused: its twin(s) {Twins} are down, so it is the shard's last serving side, and it answers ({Probes})",
                address, downText, probes);
            return new(LastSideOutcome.Refuse, $"twin(s) {downText} down and {address} answers: report not believed ({probes})", revisions);
        }
        logger.LogCritical("Shard of engine {Address} has no serving side: twin(s) {Twins} are down and it does not answer ({Probes})", address, downText, probes);
        return new(LastSideOutcome.ShardUnavailable, $"no serving side: twin(s) {downText} down and {address} does not answer ({probes})", revisions);
    }

    /// <summary>Twins of the engine that do not serve the shard now.</summary>
    public async Task<IReadOnlyList<TwinEngine>> DownTwinsAsync(string address, CancellationToken ct) =>
        Shard(address, await topology.SnapshotAsync(ct)).Twins.Select(p => p.Twin).Where(t => !IsServing(t.Server.State)).ToList();

    /// <summary>
    /// Whether the engine, back with its data while no twin serves its shard, may serve the shard alone. The dirty set
    /// is the truth: only if no twin holds a block it missed. When every down twin answers, their dirty sets decide
    /// (whichever twin's report came first); when one does not, what it holds cannot be read, and the order of the
    /// reports decides, as the best knowledge there is: <paramref name="reportedWhileTwinsDown"/> (it was reported after
    /// its twins were down: the last side every write reached) serves, any other waits for a twin to answer.
    /// </summary>
    public async Task<ServeAloneVerdict> MayServeAloneAsync(string address, OutageKind kind, bool reportedWhileTwinsDown, CancellationToken ct)
    {
        var shard = Shard(address, await topology.SnapshotAsync(ct));
        var down = shard.Twins.Where(p => !IsServing(p.Twin.Server.State)).ToList();
        if (down.Count == 0) return new(ServeAloneOutcome.TwinServes, "a twin serves the shard");
        if (kind != OutageKind.Temporary)
            return new(ServeAloneOutcome.Hold, $"twin(s) {string.Join(", ", down.Select(t => t.Twin.Server.Address))} down: a respread needs a complete side to copy from");
        var silent = new List<string>();
        var holding = new List<string>();
        foreach (var twin in down)
        {
            var missed = await StaleTwinEvidence.MissedOnTwinAsync(address, twin, ct);
            if (missed is null) silent.Add(twin.Twin.Server.Address);
            else if (missed > 0) holding.Add($"{twin.Twin.Server.Address} holds {missed} block(s) it missed");
        }
        if (holding.Count > 0)
        {
            var reason = $"stale: {string.Join("; ", holding)}";
            logger.LogWarning("Engine {Address} is back but does not serve its shard alone ({Reason}); its repair waits for the complete side", address, reason);
            return new(ServeAloneOutcome.Hold, reason);
        }
        // A held classification is offered again long after the scheduler saw the engine answer: it must be back now,
        // and the same engine (not wiped since), before it is the shard's only side.
        if ((shard.Engine is null ? "it is in no cluster" : await NotBackAsync(shard.Engine, ct)) is { } notBack)
            return new(ServeAloneOutcome.Hold, notBack);
        if (silent.Count == 0) return new(ServeAloneOutcome.ServeAlone, "no twin holds a block it missed");
        var silentText = string.Join(", ", silent);
        return reportedWhileTwinsDown
            ? new(ServeAloneOutcome.ServeAlone, $"reported failed while its twin(s) were down already; {silentText} do(es) not answer")
            : new(ServeAloneOutcome.Hold, $"twin(s) {silentText} down and not answering: whether it missed writes cannot be read yet");
    }

    private static bool IsServing(EngineState state) => state is EngineState.Online or EngineState.Rip;

    /// <summary>Null when the engine answers with the identity marker registered for it (or none is registered); else why not.</summary>
    private async Task<string?> NotBackAsync(StorageServerConfig engine, CancellationToken ct)
    {
        var registered = (await etcd.GetAsync(EtcdKeys.EngineIdentity(engine.Address), cancellationToken: ct)).Kvs.FirstOrDefault()?.Value.ToStringUtf8();
        try
        {
            await using var connection = await EngineProbe.ConnectAsync(engine.Address, ProbeTimeout, ct);
            // The marker lives in database 0 whatever the engine's data database, as the NBD servers and the scheduler read it.
            var marker = await connection.GetDatabase(0).StringGetAsync(EngineIdentity.RedisKey);
            return registered is { Length: > 0 } && marker != registered
                ? $"its identity marker is {(marker.IsNull ? "missing" : "not the registered one")}: it lost its data"
                : null;
        }
        catch (Exception ex) when (EngineProbe.IsNoAnswer(ex))
        {
            return "it does not answer";
        }
    }

    /// <summary>The engine's own entry (null when no cluster holds it) and each twin with the vdisks mirrored onto it.</summary>
    private sealed record ShardView(StorageServerConfig? Engine, IReadOnlyList<TwinPairing> Twins);

    private static ShardView Shard(string address, TopologySnapshot topology)
    {
        var own = topology.ClusterOfEngine(address);
        if (own is null) return new(null, []);
        var shard = own.Config.Servers.ToList().FindIndex(s => s.Address == address);
        var paired = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var vdisk in topology.Vdisks)
        {
            var twinCluster = vdisk.Nbd.StorageClusterID == own.ClusterId ? vdisk.Nbd.SlaveStorageClusterID
                : vdisk.Nbd.SlaveStorageClusterID == own.ClusterId ? vdisk.Nbd.StorageClusterID
                : null;
            if (twinCluster is null) continue;
            if (!paired.TryGetValue(twinCluster, out var vdisks)) paired[twinCluster] = vdisks = [];
            vdisks.Add(vdisk.VdiskId);
        }
        var twins = topology.Clusters.Where(c => paired.ContainsKey(c.ClusterId) && c.Config.Servers.Count > shard)
            .Select(c => new TwinPairing(new TwinEngine(c.ClusterId, c.ModRevision, c.Config.Servers[shard]), paired[c.ClusterId]))
            .ToList();
        return new(own.Config.Servers[shard], twins);
    }

    /// <summary>
    /// Connect and PING, a second each, up to three times: enough to tell a stalled report from a dead engine. One
    /// lost probe on a busy host must not count as "does not answer", because that verdict takes a shard's last
    /// serving side offline; a dead engine refuses the connection at once, so the retries cost it little.
    /// </summary>
    private static async Task<bool> AnswersAsync(string address, CancellationToken ct)
    {
        for (var attempt = 0; attempt < ProbeAttempts; attempt++)
        {
            if (attempt > 0) await Task.Delay(ProbePause, ct);
            if (await AnswersOnceAsync(address, ct)) return true;
        }
        return false;
    }

    private static async Task<bool> AnswersOnceAsync(string address, CancellationToken ct)
    {
        try
        {
            await using var connection = await EngineProbe.ConnectAsync(address, ProbeTimeout, ct);
            await connection.GetDatabase().PingAsync();
            return true;
        }
        catch (Exception ex) when (EngineProbe.IsNoAnswer(ex))
        {
            return false;
        }
    }
}
