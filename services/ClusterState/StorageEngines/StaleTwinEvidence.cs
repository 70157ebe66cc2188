using StackExchange.Redis;
using ZeroDisk.Contracts;
using ZeroDisk.ServiceDefaults.Engines;

namespace ZeroDisk.ClusterState.StorageEngines;

/// <summary>One twin of an engine and the vdisks that mirror the engine's shard onto it.</summary>
public sealed record TwinPairing(TwinEngine Twin, IReadOnlyList<string> Vdisks);

/// <summary>
/// Which side of a shard holds writes the other missed, read from the engines themselves: an NBD server that writes
/// to one side while the other is failed records the block on the written side in the failed side's dirty set
/// (<c>dirty:&lt;vdisk&gt;:&lt;failed engine&gt;</c>; the dirty set is the truth). Failure reports arrive in no particular
/// order (a broker outage, two collectors), so the order in which the control plane heard of two failures says
/// nothing about which side is complete; these sets do, without trusting any clock. One attempt, a second per engine:
/// a dead engine refuses the connection at once.
/// </summary>
public static class StaleTwinEvidence
{
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Why <paramref name="engine"/> must stay online although it was reported failed: it answers, and holds blocks an
    /// online twin missed while that twin holds none it missed (or cannot be read), so the twin failed first and only
    /// the twin's report is late. Null when there is no such evidence (it does not answer, or no twin missed anything,
    /// or each side missed writes of the other: then neither is complete and the report is handled as before).
    /// </summary>
    public static async Task<string?> OutlivedTwinsAsync(StorageServerConfig engine, IReadOnlyList<TwinPairing> onlineTwins, CancellationToken ct)
    {
        if (onlineTwins.Count == 0) return null;
        var missedByTwins = await CountAsync(engine, onlineTwins.Select(p => DirtyKeys(p.Vdisks, p.Twin.Server.Address)).ToList(), ct);
        if (missedByTwins is null) return null;
        var stale = new List<string>();
        for (var i = 0; i < onlineTwins.Count; i++)
        {
            if (missedByTwins[i] == 0) continue;
            var missedByEngine = await MissedOnTwinAsync(engine.Address, onlineTwins[i], ct);
            if (missedByEngine > 0) continue; // each side missed writes of the other: neither is complete
            stale.Add($"{onlineTwins[i].Twin.Server.Address} missed {missedByTwins[i]} block(s) that only {engine.Address} holds"
                      + (missedByEngine is null ? " (and does not answer)" : ""));
        }
        return stale.Count == 0 ? null : string.Join("; ", stale);
    }

    /// <summary>How many blocks <paramref name="twin"/> records as missed by the engine at <paramref name="address"/>; null when the twin does not answer.</summary>
    public static async Task<long?> MissedOnTwinAsync(string address, TwinPairing twin, CancellationToken ct) =>
        (await CountAsync(twin.Twin.Server, [DirtyKeys(twin.Vdisks, address)], ct))?[0];

    private static List<RedisKey> DirtyKeys(IReadOnlyList<string> vdisks, string staleEngine) =>
        vdisks.Select(v => EngineKeys.DirtyBlocks(v, staleEngine)).ToList();

    /// <summary>The total members of each group of dirty sets on <paramref name="holder"/>, or null when it does not answer.</summary>
    private static async Task<long[]?> CountAsync(StorageServerConfig holder, IReadOnlyList<List<RedisKey>> groups, CancellationToken ct)
    {
        try
        {
            await using var connection = await EngineProbe.ConnectAsync(holder.Address, ReadTimeout, ct);
            var batch = connection.GetDatabase(holder.Db).CreateBatch();
            var counts = groups.Select(keys => Task.WhenAll(keys.Select(k => batch.SetLengthAsync(k)))).ToList();
            batch.Execute();
            var replies = await Task.WhenAll(counts).WaitAsync(ReadTimeout, ct);
            return replies.Select(group => group.Sum()).ToArray();
        }
        catch (Exception ex) when (EngineProbe.IsNoAnswer(ex))
        {
            return null;
        }
    }
}
