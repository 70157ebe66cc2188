using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using ZeroDisk.Contracts;
using ZeroDisk.NbdHost.Failover;

namespace ZeroDisk.NbdHost.Storage;

/// <summary>
/// Every storage engine this process talks to, one connection each, shared by all vdisks. Owns the failure
/// state: the first failure of an engine marks it failed, reports it once on stderr and tells every vdisk (so
/// each records its recent writes of that engine as dirty, invariant 1).
/// </summary>
public sealed class StorageEngines(StorageOptions options, IStderrEvents events, ILogger<StorageEngines> log) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<StorageEngine>> _engines = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _reported = new(StringComparer.Ordinal);

    private ShardStallHealer? _stallHealer;

    /// <summary>Heals a shard whose both sides stalled (invariant 9): see <see cref="ShardStallHealer"/>.</summary>
    internal ShardStallHealer StallHealer => LazyInitializer.EnsureInitialized(ref _stallHealer, () => new ShardStallHealer(this, log));

    /// <summary>The last complete side of a shard answers again unchanged after a stall: usable again, its next failure reported again.</summary>
    internal bool RestoreAfterStall(StorageEngine engine)
    {
        if (!engine.TryClearFailure()) return false;
        _reported.TryRemove(engine.Address, out _);
        return true;
    }

    /// <summary>Raised once each time an engine goes from usable to failed.</summary>
    public event Action<StorageEngine>? EngineFailed;

    public StorageEngine Get(string address) =>
        _engines.GetOrAdd(address, a => new Lazy<StorageEngine>(() => Connect(a), LazyThreadSafetyMode.ExecutionAndPublication)).Value;

    /// <summary>Marks the engine failed (if it was not yet) because of <paramref name="reason"/>.</summary>
    public void ReportFailure(StorageEngine engine, string reason)
    {
        if (!engine.TryMarkFailed()) return;
        log.LogWarning("storage engine {Address} failed: {Reason}; serving its shards from the other side", engine.Address, reason);
        if (_reported.TryAdd(engine.Address, 0))
            events.Write(new StorageEngineFailureLine(engine.Address));
        EngineFailed?.Invoke(engine);
    }

    public void ReportFailure(StorageEngine engine, Exception error) => ReportFailure(engine, $"{error.GetType().Name}: {error.Message}");

    /// <summary>
    /// etcd says the engine is back (a new incident may start): use it again and report its next failure. The
    /// restart etcd's state already covers is not a new one: the next run_id seen is what a later restart is
    /// measured against (the client may not even have reconnected yet).
    /// </summary>
    public void Restore(string address)
    {
        _reported.TryRemove(address, out _);
        if (!_engines.TryGetValue(address, out var lazy) || !lazy.IsValueCreated) return;
        var engine = lazy.Value;
        if (!engine.IsFailed) return;
        if (!engine.Connection.IsConnected)
        {
            // etcd is often faster than the client's reconnect: a command now (a repair copy, the fence raise) would
            // find no connection and fail the engine again, and nothing would restore it before the next incident.
            engine.RestoreOnReconnect();
            log.LogInformation("storage engine {Address}: etcd says usable; using it again once the client has reconnected", address);
            // The reconnect may have landed between the check and the flag: then nobody else takes it.
            if (engine.Connection.IsConnected && engine.TakeRestoreOnReconnect()) RestoreNow(engine);
            return;
        }
        RestoreNow(engine);
    }

    private void RestoreNow(StorageEngine engine)
    {
        engine.RunId = null;
        if (!engine.TryClearFailure()) return;
        log.LogInformation("storage engine {Address} is usable again (etcd state changed)", engine.Address);
        _ = CheckRunIdAsync(engine);
    }

    /// <summary>The errors that mean the engine is unhealthy: no connection, a timeout, an error reply.</summary>
    public static bool IsEngineFailure(Exception error) => error is RedisException or TimeoutException or ObjectDisposedException;

    private StorageEngine Connect(string address)
    {
        var config = new ConfigurationOptions
        {
            AbortOnConnectFail = false,
            // A disconnect is a failure: never queue commands across a reconnect (invariant 1).
            BacklogPolicy = BacklogPolicy.FailFast,
            ConnectTimeout = (int)options.ConnectTimeout.TotalMilliseconds,
            SyncTimeout = (int)options.CommandTimeout.TotalMilliseconds,
            AsyncTimeout = (int)options.CommandTimeout.TotalMilliseconds,
            HeartbeatInterval = options.HeartbeatInterval,
            ConnectRetry = 1,
            // Reconnect soon after an engine returns, so it answers by the time etcd hands it to a repair.
            ReconnectRetryPolicy = new LinearRetry(200),
            KeepAlive = 1,
            ClientName = "nbdhost",
            // INFO (for run_id) counts as an admin command to the client; nothing here sends a destructive one.
            AllowAdmin = true,
            // Only the interactive connection: no pub/sub connection whose state could confuse failure detection.
            CommandMap = CommandMap.Create(["SUBSCRIBE", "UNSUBSCRIBE", "PSUBSCRIBE", "PUNSUBSCRIBE"], available: false),
        };
        config.EndPoints.Add(address);
        var connection = ConnectionMultiplexer.Connect(config);
        var engine = new StorageEngine(address, connection, options.MaxCommandsInFlightPerEngine);
        connection.ConnectionFailed += (_, e) =>
        {
            if (e.ConnectionType == ConnectionType.Interactive)
                ReportFailure(engine, $"connection {e.FailureType}: {e.Exception?.Message}");
        };
        // The client reconnects by itself; an engine that answers again under a new run_id restarted and may have
        // lost its last second of writes (invariant 1): failed, whether or not the disconnect was seen.
        connection.ConnectionRestored += (_, e) =>
        {
            if (e.ConnectionType != ConnectionType.Interactive) return;
            if (engine.TakeRestoreOnReconnect()) RestoreNow(engine);
            else _ = CheckRunIdAsync(engine);
        };
        if (!connection.IsConnected)
            ReportFailure(engine, "not reachable when first connected");
        else
            _ = CheckRunIdAsync(engine); // the baseline, read in the background: no thread blocks on an engine
        return engine;
    }

    /// <summary>
    /// Records the engine's run_id when none is known, or fails the engine when it changed; fails an engine that does
    /// not fsync each write before acknowledging it (<see cref="EngineDurabilityCheck"/>).
    /// </summary>
    private async Task CheckRunIdAsync(StorageEngine engine)
    {
        try
        {
            if (await EngineDurabilityCheck.FindProblemAsync(engine) is { } notDurable)
            {
                ReportFailure(engine, $"not durable: {notDurable}");
                return;
            }
            var runId = await ReadRunIdAsync(engine);
            if (runId is null) return;
            var known = engine.RunId;
            engine.RunId = runId;
            if (known is null || known == runId) return;
            log.LogWarning("storage engine {Address} restarted (run_id {Old} -> {New}): failed until etcd brings it back through a repair",
                engine.Address, known, runId);
            ReportFailure(engine, $"restarted (run_id {known} -> {runId})");
        }
        catch (Exception ex) when (IsEngineFailure(ex))
        {
            // Not connected (yet): the reconnect checks again, and a command that fails meanwhile reports it.
            log.LogDebug("storage engine {Address}: run_id not read ({Reason})", engine.Address, ex.Message);
        }
    }

    private static async Task<string?> ReadRunIdAsync(StorageEngine engine)
    {
        var server = engine.Connection.GetServer(engine.Connection.GetEndPoints()[0]);
        var info = await server.InfoAsync("server");
        return info.SelectMany(g => g).FirstOrDefault(kv => kv.Key == "run_id").Value;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var lazy in _engines.Values)
            if (lazy.IsValueCreated) await lazy.Value.DisposeAsync();
    }
}
