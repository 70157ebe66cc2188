using System.Collections.Concurrent;
using StackExchange.Redis;
using ZeroDisk.Contracts;
using ZeroDisk.ServiceDefaults.Engines;

namespace ZeroDisk.ClusterState.Operability;

/// <summary>
/// Counts, per engine, the blocks written while it was down that are not on it yet: the members of every
/// <c>dirty:&lt;vdisk&gt;:&lt;engine&gt;</c> set that the NBD servers keep on the other engines of the vdisk's clusters
/// (SCARD, pipelined per engine). Connections are opened once and kept (reconnecting in the background); an engine
/// that does not answer is skipped, so a dead engine costs one connect attempt, not a timeout per observation.
/// </summary>
public sealed class DirtyBlockCounter : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, Task<ConnectionMultiplexer?>> _connections = new(StringComparer.Ordinal);

    /// <param name="vdisks">Each vdisk with the engines of its two clusters and its block size.</param>
    /// <returns>Per engine address: dirty blocks and bytes; an engine whose dirty sets nobody answered for is missing.</returns>
    public async Task<IReadOnlyDictionary<string, (long Blocks, long Bytes)>> CountAsync(
        IReadOnlyList<(string VdiskId, IReadOnlyList<StorageServerConfig> Engines, int BlockSize)> vdisks, CancellationToken ct)
    {
        var totals = new Dictionary<string, (long Blocks, long Bytes)>(StringComparer.Ordinal);
        var holders = vdisks.SelectMany(v => v.Engines).Where(e => e.State != EngineState.Rip).DistinctBy(e => e.Address).ToList();
        foreach (var holder in holders)
        {
            ct.ThrowIfCancellationRequested();
            if (await ConnectAsync(holder.Address) is not { IsConnected: true } connection) continue;
            var db = connection.GetDatabase(holder.Db);
            var counts = new List<(string Engine, int BlockSize, Task<long> Count)>();
            var batch = db.CreateBatch();
            foreach (var (vdisk, engines, blockSize) in vdisks)
            {
                if (!engines.Any(e => e.Address == holder.Address)) continue;
                foreach (var engine in engines.Where(e => e.Address != holder.Address))
                    counts.Add((engine.Address, blockSize, batch.SetLengthAsync(EngineKeys.DirtyBlocks(vdisk, engine.Address))));
            }
            batch.Execute();
            try
            {
                await Task.WhenAll(counts.Select(c => c.Count)).WaitAsync(TimeSpan.FromSeconds(5), ct);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                continue; // this holder went away mid-count: its sets are counted next time
            }
            foreach (var (engine, blockSize, count) in counts)
            {
                var (blocks, bytes) = totals.GetValueOrDefault(engine);
                totals[engine] = (blocks + count.Result, bytes + count.Result * blockSize);
            }
        }
        return totals;
    }

    private Task<ConnectionMultiplexer?> ConnectAsync(string address) =>
        _connections.GetOrAdd(address, static async a =>
        {
            var options = EngineConnection.Options(a);
            options.AbortOnConnectFail = false; // keeps trying in the background; IsConnected says whether it answers now
            options.ConnectTimeout = 1000;
            options.SyncTimeout = options.AsyncTimeout = 3000;
            options.ClientName = "zerodisk-observer";
            try
            {
                return await ConnectionMultiplexer.ConnectAsync(options);
            }
            catch (RedisException)
            {
                return null;
            }
        });

    public async ValueTask DisposeAsync()
    {
        foreach (var connection in _connections.Values)
            if (connection.IsCompletedSuccessfully && connection.Result is { } c) await c.DisposeAsync();
    }
}
