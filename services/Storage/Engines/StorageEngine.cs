using System.Collections.Concurrent;
using StackExchange.Redis;
using ZeroDisk.Storage.Resp;

namespace ZeroDisk.Storage;

/// <summary>
/// One storage engine (a Redis-protocol server) as this process sees it: one multiplexed connection and whether
/// this process has marked it failed. A failed engine is not used again until etcd moves it to a state that says
/// it is back (<see cref="StorageEngines.RestoreAsync"/>).
/// </summary>
public sealed class StorageEngine : IAsyncDisposable
{
    private readonly ConnectionMultiplexer _connection;
    private readonly SemaphoreSlim _inFlight;
    private int _failed;
    private string _expectedIdentity = "";

    internal StorageEngine(string address, ConnectionMultiplexer connection, int maxInFlight)
    {
        Address = address;
        _connection = connection;
        _inFlight = new SemaphoreSlim(maxInFlight, maxInFlight);
    }

    /// <summary>
    /// Waits for a command slot. The client's timeout runs from the moment a command is queued, so a burst of
    /// thousands of block operations queued at once would time out on a healthy engine; bounding what is in flight
    /// per engine keeps the queueing here, where it does not count as the engine being slow.
    /// </summary>
    public Task EnterAsync() => _inFlight.WaitAsync();

    public void Exit() => _inFlight.Release();

    public string Address { get; }

    public bool IsFailed => Volatile.Read(ref _failed) != 0;

    /// <summary>
    /// The identity marker etcd registered for this engine, or "" when none is: then the engine is never verified, so
    /// never used (identity is checked, never assumed). A changed registration makes the engine unverified until it is checked again.
    /// </summary>
    public string ExpectedIdentity
    {
        get => Volatile.Read(ref _expectedIdentity);
        set
        {
            if (Interlocked.Exchange(ref _expectedIdentity, value) != value) Volatile.Write(ref _verifiedIdentity, null);
        }
    }

    private string? _verifiedIdentity;

    /// <summary>
    /// True while the engine's marker was last seen equal to <see cref="ExpectedIdentity"/> (identity is checked, never assumed):
    /// an engine is read from, written to, fenced or copied from only then (<see cref="EngineSlot.Use"/>).
    /// </summary>
    public bool IsVerified => Volatile.Read(ref _verifiedIdentity) is { } verified && verified == ExpectedIdentity && verified.Length > 0;

    internal void MarkVerified(string identity) => Volatile.Write(ref _verifiedIdentity, identity);

    internal void ClearVerified() => Volatile.Write(ref _verifiedIdentity, null);

    /// <summary>The verification running now, shared by everyone who needs it (<see cref="StorageEngines.VerifyAsync"/>).</summary>
    internal Task<bool>? Verification;

    /// <summary>The wait for the engine to finish loading its files, shared likewise (<see cref="EngineIdentityCheck.WaitWhileLoadingAsync"/>).</summary>
    internal Task? LoadingWait;

    /// <summary>The engine's <c>run_id</c> when this process first reached it (or after etcd brought it back): a different one means it restarted.</summary>
    public string? RunId { get; internal set; }

    public IDatabase Database(int db) => _connection.GetDatabase(db);

    private readonly ConcurrentDictionary<int, RespConnection> _dataPath = new();

    /// <summary>Creates the data path's connection to one database of this engine (<see cref="StorageEngines"/> sets it).</summary>
    internal Func<int, RespConnection>? DataPathFactory { get; set; }

    /// <summary>
    /// The data path's own pipelined connection to database <paramref name="db"/> (block reads and fenced block writes):
    /// replies complete their callers inline, with no thread hop (<see cref="RespConnection"/>).
    /// </summary>
    public RespConnection DataPath(int db) =>
        _dataPath.GetOrAdd(db, static (db, factory) => factory(db), ConnectDataPath);

    private readonly ConcurrentDictionary<int, ExclusiveConnections> _watchedWrites = new();

    /// <summary>Connections for exchanges that span round trips on one socket (<see cref="ExclusiveConnections"/>).</summary>
    private const int WatchedWriteConnections = 4;

    /// <summary>
    /// Connections to database <paramref name="db"/> lent to one writer at a time, with the data path's settings and
    /// failure reports: for fenced writes checked by WATCH (a repair's copies), which must have a socket to themselves.
    /// </summary>
    public ExclusiveConnections WatchedWritePath(int db) =>
        _watchedWrites.GetOrAdd(db, static (db, factory) => new ExclusiveConnections(() => factory(db), WatchedWriteConnections), ConnectDataPath);

    private Func<int, RespConnection> ConnectDataPath =>
        DataPathFactory ?? throw new InvalidOperationException($"engine {Address} has no data path connection");

    internal ConnectionMultiplexer Connection => _connection;

    private static long s_failures;

    /// <summary>Orders failures across engines: which twin of a shard failed last (<see cref="ShardStallHealer"/>).</summary>
    internal long FailedSequence { get; private set; }

    /// <summary>True for the call that moved the engine from usable to failed.</summary>
    internal bool TryMarkFailed()
    {
        if (Interlocked.Exchange(ref _failed, 1) != 0) return false;
        FailedSequence = Interlocked.Increment(ref s_failures);
        return true;
    }

    internal bool TryClearFailure() => Interlocked.Exchange(ref _failed, 0) == 1;

    private int _restoreOnReconnect;

    /// <summary>etcd said usable while the client was not connected yet: restore it when the connection is back.</summary>
    internal void RestoreOnReconnect() => Volatile.Write(ref _restoreOnReconnect, 1);

    /// <summary>True once for a restore that waited for the reconnect.</summary>
    internal bool TakeRestoreOnReconnect() => Interlocked.Exchange(ref _restoreOnReconnect, 0) == 1;

    public override string ToString() => Address;

    public async ValueTask DisposeAsync()
    {
        foreach (var data in _dataPath.Values) await data.DisposeAsync();
        foreach (var watched in _watchedWrites.Values) await watched.DisposeAsync();
        await _connection.DisposeAsync();
    }
}
