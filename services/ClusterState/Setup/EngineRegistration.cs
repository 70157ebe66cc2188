using dotnet_etcd;
using ZeroDisk.ClusterState.Admin;
using ZeroDisk.ClusterState.Persistence;
using ZeroDisk.Contracts;
using ZeroDisk.Contracts.Admin;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.ClusterState.Setup;

/// <summary>
/// Engines joining a cluster get their identity marker on the engine first (SET NX), then in etcd, in the caller's
/// transaction together with the cluster config that lists them: etcd never names an engine whose marker was not
/// written, and a failed step takes back the markers this call wrote. An engine is refused when it already
/// carries another cluster's marker (or one not written here), when etcd registers an identity for its address, or
/// when it holds data.
/// </summary>
public sealed class EngineRegistration(EtcdClient etcd) : IAsyncDisposable
{
    private readonly List<(StorageServerConfig Engine, string Marker)> _written = [];
    private readonly Dictionary<string, StackExchange.Redis.ConnectionMultiplexer> _connections = [];

    private async Task<StackExchange.Redis.ConnectionMultiplexer> ConnectionAsync(string address) =>
        _connections.TryGetValue(address, out var redis) ? redis : _connections[address] = await EngineMarkers.ConnectAsync(address);

    /// <summary>The markers to register in etcd, by engine address.</summary>
    public Dictionary<string, string> Markers { get; } = [];

    /// <summary>Null when every engine now carries this cluster's marker (and the transaction registers it), else the refusal.</summary>
    public async Task<AdminResult?> MarkAsync(string clusterId, IReadOnlyList<StorageServerConfig> engines, EtcdTransaction transaction, CancellationToken ct)
    {
        var refusals = new List<string>();
        var contents = new List<EngineContents>();
        foreach (var engine in engines)
        {
            var identityKey = EtcdKeys.EngineIdentity(engine.Address);
            if (await etcd.GetAsync(identityKey, ct) is { } registered)
            {
                refusals.Add($"{engine.Address} is already registered (identity '{registered.Value.ToStringUtf8()}' in etcd)");
                continue;
            }
            EngineContents seen;
            try
            {
                seen = await EngineMarkers.InspectAsync(await ConnectionAsync(engine.Address), engine, ct);
            }
            catch (Exception ex) when (ex is StackExchange.Redis.RedisException or TimeoutException)
            {
                return new AdminResult(503, $"engine {engine.Address} does not answer ({ex.Message.ReplaceLineEndings(" ")}); nothing was changed");
            }
            if (seen.Marker is not null && EngineMarkers.ClusterOf(seen.Marker) != clusterId)
                refusals.Add($"{engine.Address} carries another identity marker ('{seen.Marker}'): it belongs to another cluster");
            else if (seen.DataKeys.Count > 0)
                refusals.Add($"{engine.Address} holds data (keys {string.Join(", ", seen.DataKeys)}…): only an empty engine can join");
            contents.Add(seen);
        }
        if (refusals.Count > 0) return new AdminResult(409, $"refused: {string.Join("; ", refusals)}; nothing was changed");

        foreach (var (engine, seen) in engines.Zip(contents))
        {
            // A marker of this cluster left by an earlier attempt that failed before etcd is reused, not replaced.
            var wanted = seen.Marker ?? EngineMarkers.NewMarker(clusterId);
            string held;
            try
            {
                held = await EngineMarkers.SetIfAbsentAsync(await ConnectionAsync(engine.Address), engine, wanted);
            }
            catch (Exception ex) when (ex is StackExchange.Redis.RedisException or TimeoutException)
            {
                await RollBackAsync();
                return new AdminResult(503, $"engine {engine.Address} failed while its marker was written ({ex.Message.ReplaceLineEndings(" ")}); nothing was changed");
            }
            if (held != wanted && EngineMarkers.ClusterOf(held) != clusterId)
            {
                await RollBackAsync();
                return new AdminResult(409, $"refused: {engine.Address} got another identity marker ('{held}') meanwhile; nothing was changed");
            }
            if (held == wanted && seen.Marker is null) _written.Add((engine, held));
            Markers[engine.Address] = held;
            transaction.ExpectVersion(EtcdKeys.EngineIdentity(engine.Address), 0).Put(EtcdKeys.EngineIdentity(engine.Address), held);
        }
        return null;
    }

    /// <summary>Takes back the markers this registration wrote (after a refused or failed etcd transaction).</summary>
    public async Task RollBackAsync()
    {
        foreach (var (engine, marker) in _written) await EngineMarkers.RemoveIfEqualAsync(_connections[engine.Address], engine, marker);
        _written.Clear();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var redis in _connections.Values) await redis.DisposeAsync();
    }
}
