using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using ZeroDisk.Contracts;
using ZeroDisk.ServiceDefaults.Engines;
using ZeroDisk.ServiceDefaults.Security;
using ZeroDisk.Storage.Resp;

namespace ZeroDisk.Storage;

/// <summary>
/// Every storage engine this process talks to, one connection each, shared by all vdisks. Owns the failure
/// state: the first failure of an engine marks it failed, reports it once on stderr and tells every vdisk (so
/// each records its recent writes of that engine as dirty, a crashed engine may have lost its last second).
/// </summary>
public sealed class StorageEngines(StorageOptions options, IStderrEvents events, ILogger<StorageEngines> log) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<StorageEngine>> _engines = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _reported = new(StringComparer.Ordinal);

    internal ILogger Log => log;

    private ShardStallHealer? _stallHealer;

    /// <summary>Heals a shard whose both sides stalled (transient double failures heal by themselves): see <see cref="ShardStallHealer"/>.</summary>
    internal ShardStallHealer StallHealer => LazyInitializer.EnsureInitialized(ref _stallHealer, () => new ShardStallHealer(this, log));

    /// <summary>The last complete side of a shard answers again unchanged after a stall: usable again, its next failure reported again.</summary>
    internal bool RestoreAfterStall(StorageEngine engine)
    {
        if (!engine.TryClearFailure()) return false;
        _reported.TryRemove(engine.Address, out _);
        EngineRestored?.Invoke(engine);
        return true;
    }

    /// <summary>Raised once each time an engine goes from usable to failed.</summary>
    public event Action<StorageEngine>? EngineFailed;

    /// <summary>Raised each time a failed engine is usable again (etcd brought it back, or a stall healed).</summary>
    public event Action<StorageEngine>? EngineRestored;

    public StorageEngine Get(string address) =>
        _engines.GetOrAdd(address, a => new Lazy<StorageEngine>(() => Connect(a), LazyThreadSafetyMode.ExecutionAndPublication)).Value;

    /// <summary>Marks the engine failed (if it was not yet) because of <paramref name="reason"/>.</summary>
    public void ReportFailure(StorageEngine engine, string reason)
    {
        if (!engine.TryMarkFailed()) return;
        StorageMetrics.Failed(engine);
        log.LogWarning("storage engine {Address} failed: {Reason}; serving its shards from the other side", engine.Address, reason);
        if (_reported.TryAdd(engine.Address, 0))
            events.Write(new StorageEngineFailureLine(engine.Address));
        EngineFailed?.Invoke(engine);
    }

    /// <summary>
    /// Like <see cref="ReportFailure(StorageEngine, string)"/>, and reports an engine failed already once more when its
    /// report was cleared (etcd brought it back, but its identity check failed: the control plane must hear of it).
    /// </summary>
    internal void ReportFailureAgain(StorageEngine engine, string reason)
    {
        if (!engine.IsFailed)
        {
            ReportFailure(engine, reason);
            return;
        }
        log.LogWarning("storage engine {Address} stays failed: {Reason}", engine.Address, reason);
        if (_reported.TryAdd(engine.Address, 0))
            events.Write(new StorageEngineFailureLine(engine.Address));
    }

    private readonly Dictionary<string, long> _reportedAgainAt = new(StringComparer.Ordinal);
    private static readonly TimeSpan ReportAgainInterval = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Says once more that an engine failed here is failed, while etcd still calls it usable or repairs it: its first
    /// report may have been refused (the control plane keeps a shard's last serving side online on an unverified report)
    /// or judged older than the repair, and the situation has changed since. Called on etcd changes by every vdisk that
    /// finds the engine stale, and by a repair waiting on a failed target: one line per engine per <paramref name="every"/>
    /// (default a second) at most, whichever vdisk asks, so many vdisks do not flood the collector.
    /// </summary>
    internal void ReportStillFailed(StorageEngine engine, string reason, TimeSpan? every = null)
    {
        var now = Environment.TickCount64;
        lock (_reportedAgainAt)
        {
            if (_reportedAgainAt.TryGetValue(engine.Address, out var last) && now - last < (long)(every ?? ReportAgainInterval).TotalMilliseconds) return;
            _reportedAgainAt[engine.Address] = now;
        }
        log.LogWarning("storage engine {Address} is still failed here ({Reason}): reported again", engine.Address, reason);
        events.Write(new StorageEngineFailureLine(engine.Address));
    }

    public void ReportFailure(StorageEngine engine, Exception error) => ReportFailure(engine, $"{error.GetType().Name}: {error.Message}");

    /// <summary>
    /// etcd says the engine is back (a new incident may start): use it again and report its next failure. The
    /// restart etcd's state already covers is not a new one: the next run_id seen is what a later restart is
    /// measured against (the client may not even have reconnected yet).
    /// </summary>
    /// <returns>
    /// Completes once the engine is usable again or known not to be (its identity checked first), or after twice the
    /// command timeout (an engine still loading its files is restored in the background once loaded).
    /// </returns>
    public Task RestoreAsync(string address)
    {
        _reported.TryRemove(address, out _);
        if (!_engines.TryGetValue(address, out var lazy) || !lazy.IsValueCreated) return Task.CompletedTask;
        var engine = lazy.Value;
        if (!engine.IsFailed) return Task.CompletedTask;
        if (!engine.Connection.IsConnected)
        {
            // etcd is often faster than the client's reconnect: a command now (a repair copy, the fence raise) would
            // find no connection and fail the engine again, and nothing would restore it before the next incident.
            engine.RestoreOnReconnect();
            log.LogInformation("storage engine {Address}: etcd says usable; using it again once the client has reconnected", address);
            // The reconnect may have landed between the check and the flag: then nobody else takes it.
            if (engine.Connection.IsConnected && engine.TakeRestoreOnReconnect()) return RestoreNow(engine);
            return Task.CompletedTask;
        }
        return RestoreNow(engine);
    }

    /// <summary>
    /// The engine starts a new life: its run_id now is the new baseline, but it is used again only once its identity
    /// marker is verified (identity is checked, never assumed); until then it stays failed.
    /// </summary>
    private Task RestoreNow(StorageEngine engine)
    {
        engine.RunId = null;
        engine.ClearVerified();
        return RestoreVerifiedAsync(engine);
    }

    /// <summary>
    /// etcd's change is applied to the vdisks once this returns, so that they find the engine usable at once; but an
    /// engine still loading its files (minutes for a large dataset) is not waited for: it is restored in the
    /// background once loaded (the vdisks hear of it as of any restore), and etcd's other changes go on meanwhile.
    /// </summary>
    private async Task RestoreVerifiedAsync(StorageEngine engine)
    {
        var restored = RestoreOnceLoadedAsync(engine);
        await Task.WhenAny(restored, Task.Delay(options.CommandTimeout * 2));
    }

    private async Task RestoreOnceLoadedAsync(StorageEngine engine)
    {
        await this.WaitWhileLoadingAsync(engine, options.EngineLoadingWait);
        if (!await this.VerifyIdentityAsync(engine)) return;
        if (!engine.TryClearFailure()) return;
        log.LogInformation("storage engine {Address} is usable again (etcd state changed, identity marker verified)", engine.Address);
        EngineRestored?.Invoke(engine);
    }

    /// <summary>The errors that mean the engine is unhealthy: no connection, a timeout, an error reply.</summary>
    public static bool IsEngineFailure(Exception error) => error is RedisException or TimeoutException or ObjectDisposedException;

    private StorageEngine Connect(string address)
    {
        var config = new ConfigurationOptions
        {
            AbortOnConnectFail = false,
            // A disconnect is a failure: never queue commands across a reconnect (a crashed engine may have lost its last second).
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
        EngineConnection.Apply(config, ProcessCredentials.Engines); // user, password, TLS (Engines:*)
        var connection = ConnectionMultiplexer.Connect(config);
        var engine = new StorageEngine(address, connection, options.MaxCommandsInFlightPerEngine);
        engine.DataPathFactory = db => ConnectDataPath(engine, db);
        connection.ConnectionFailed += (_, e) =>
        {
            if (e.ConnectionType == ConnectionType.Interactive)
                ReportFailure(engine, $"connection {e.FailureType}: {e.Exception?.Message}");
        };
        // The client reconnects by itself; an engine that answers again under a new run_id restarted and may have
        // lost its last second of writes (a crashed engine may have lost its last second), one without its marker lost everything (identity is checked, never assumed): failed,
        // whether or not the disconnect was seen.
        connection.ConnectionRestored += (_, e) =>
        {
            if (e.ConnectionType != ConnectionType.Interactive) return;
            if (engine.TakeRestoreOnReconnect()) _ = RestoreNow(engine);
            else if (engine.RunId is not null) _ = VerifyOnceLoadedAsync(engine); // marker and run_id, again
        };
        // The baseline run_id is read by the first identity check (EnsureVerifiedAsync), before the engine is used.
        if (!connection.IsConnected)
            ReportFailure(engine, "not reachable when first connected");
        return engine;
    }

    private async Task VerifyOnceLoadedAsync(StorageEngine engine)
    {
        await this.WaitWhileLoadingAsync(engine, options.EngineLoadingWait);
        await this.VerifyIdentityAsync(engine);
    }

    /// <summary>
    /// The data path's connection to one database of <paramref name="engine"/>: same timeouts as the control-plane client;
    /// a broken or hung connection fails the engine like a failure seen by the other client (a disconnect is a failure).
    /// </summary>
    private RespConnection ConnectDataPath(StorageEngine engine, int db)
    {
        // The same credentials as the control-plane client (Engines:*): user, password, TLS.
        var credentials = ProcessCredentials.Engines;
        var endPoint = RespEndPoints.Parse(engine.Address);
        var data = new RespConnection(new RespConnectionOptions
        {
            EndPoint = endPoint,
            User = credentials.User,
            Password = credentials.ResolvedPassword(),
            Tls = credentials.UseTls ? credentials.ClientTls(HostOf(engine.Address)) : null,
            Database = db,
            ConnectTimeout = options.ConnectTimeout,
            CommandTimeout = options.CommandTimeout,
            TimeoutCheckInterval = options.HeartbeatInterval,
            ClientName = "nbdhost-data",
        });
        data.Failed += error => ReportFailure(engine, $"data connection: {error.Message}");
        return data;
    }

    private static string HostOf(string address) => address[..address.LastIndexOf(':')];

    public async ValueTask DisposeAsync()
    {
        foreach (var lazy in _engines.Values)
            if (lazy.IsValueCreated) await lazy.Value.DisposeAsync();
    }
}
