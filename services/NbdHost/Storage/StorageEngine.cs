using StackExchange.Redis;

namespace ZeroDisk.NbdHost.Storage;

/// <summary>
/// One storage engine (a Redis-protocol server) as this process sees it: one multiplexed connection and whether
/// this process has marked it failed. A failed engine is not used again until etcd moves it to a state that says
/// it is back (<see cref="StorageEngines.Restore"/>).
/// </summary>
public sealed class StorageEngine : IAsyncDisposable
{
    private readonly ConnectionMultiplexer _connection;
    private int _failed;

    internal StorageEngine(string address, ConnectionMultiplexer connection)
    {
        Address = address;
        _connection = connection;
    }

    public string Address { get; }

    public bool IsFailed => Volatile.Read(ref _failed) != 0;

    public IDatabase Database(int db) => _connection.GetDatabase(db);

    internal ConnectionMultiplexer Connection => _connection;

    /// <summary>True for the call that moved the engine from usable to failed.</summary>
    internal bool TryMarkFailed() => Interlocked.Exchange(ref _failed, 1) == 0;

    internal bool TryClearFailure() => Interlocked.Exchange(ref _failed, 0) == 1;

    public override string ToString() => Address;

    public async ValueTask DisposeAsync() => await _connection.DisposeAsync();
}
