using StackExchange.Redis;
using ZeroDisk.Contracts;
using ZeroDisk.ServiceDefaults.Engines;

namespace ZeroDisk.ClusterState.StorageEngines;

/// <summary>One twin of an engine and the vdisks that mirror the engine's shard onto it.</summary>
public sealed record TwinPairing(TwinEngine Twin, IReadOnlyList<string> Vdisks);

/// <summary>
/// Which side of a shard holds writes the other missed, read from the engines themselves: an NBD server that writes
/// to one side while the other is failed records the block on the written side in the failed side's dirty set
/// (<c>dirty:&lt;vdisk&gt;:&lt;failed engine&gt;</c>). Failure reports arrive in no particular order (a broker outage, two
/// collectors): the engine that failed last, the only side every write since its twin's failure reached, can be reported
/// before its stale twin, while etcd still calls the twin online. Taking it offline then leaves the shard only the
/// stale side. The dirty sets say so without trusting any clock.
/// </summary>
public static class StaleTwinEvidence
{
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Why <paramref name="engine"/> must stay online although it was reported failed: it answers, and holds blocks an
    /// online twin missed while that twin holds none it missed (or cannot be read). Null when there is no such evidence
    /// (it does not answer, or no twin missed anything, or each side missed writes of the other: then neither is complete
    /// and the report is handled as before). One attempt, a second per engine: a dead engine refuses the connection at once.
    /// </summary>
    public static async Task<string?> StaleTwinAsync(StorageServerConfig engine, IReadOnlyList<TwinPairing> onlineTwins, CancellationToken ct)
    {
        if (onlineTwins.Count == 0) return null;
        var missedByTwins = await CountAsync(engine, onlineTwins.Select(p => p.Vdisks.Select(v => EngineKeys.DirtyBlocks(v, p.Twin.Server.Address)).ToList()).ToList(), ct);
        if (missedByTwins is null) return null;
        var stale = new List<string>();
        for (var i = 0; i < onlineTwins.Count; i++)
        {
            if (missedByTwins[i] == 0) continue;
            var (twin, vdisks) = onlineTwins[i];
            var missedByEngine = await CountAsync(twin.Server, [vdisks.Select(v => EngineKeys.DirtyBlocks(v, engine.Address)).ToList()], ct);
            if (missedByEngine?[0] > 0) continue; // each side missed writes of the other: neither is complete
            stale.Add($"{twin.Server.Address} missed {missedByTwins[i]} block(s) that only {engine.Address} holds"
                      + (missedByEngine is null ? " (and does not answer)" : ""));
        }
        return stale.Count == 0 ? null : string.Join("; ", stale);
    }

    /// <summary>The total members of each group of dirty sets on <paramref name="holder"/>, or null when it does not answer.</summary>
    private static async Task<long[]?> CountAsync(StorageServerConfig holder, IReadOnlyList<List<RedisKey>> groups, CancellationToken ct)
    {
        try
        {
            await using var connection = await EngineProbe.ConnectAsync(holder.Address, ReadTimeout, ct);
            var batch = connection.GetDatabase(holder.Db).CreateBatch();
            var counts = groups.Select(keys => keys.Select(k => batch.SetLengthAsync(k)).ToList()).ToList();
            batch.Execute();
            await Task.WhenAll(counts.SelectMany(c => c)).WaitAsync(ReadTimeout, ct);
            return counts.Select(c => c.Sum(t => t.Result)).ToArray();
        }
        catch (Exception ex) when (EngineProbe.IsNoAnswer(ex))
        {
            return null;
        }
    }
}
