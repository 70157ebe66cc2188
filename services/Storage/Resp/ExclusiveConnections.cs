using System.Collections.Concurrent;

namespace ZeroDisk.Storage.Resp;

/// <summary>
/// A few connections to one engine database, each lent to one caller at a time: for exchanges that span round trips on
/// one socket (<see cref="RespConnection.WatchedTransactionAsync"/>), which the pipelined callers of a shared
/// connection would break into. Connections are made on first need, up to <paramref name="count"/>, and kept.
/// </summary>
public sealed class ExclusiveConnections(Func<RespConnection> connect, int count) : IAsyncDisposable
{
    private readonly SemaphoreSlim _free = new(count, count);
    private readonly ConcurrentBag<RespConnection> _idle = [];
    private readonly ConcurrentQueue<RespConnection> _made = new();

    /// <summary>Runs <paramref name="use"/> with a connection no one else uses until it returns.</summary>
    public async Task<T> UseAsync<T>(Func<RespConnection, Task<T>> use)
    {
        await _free.WaitAsync();
        if (!_idle.TryTake(out var connection))
        {
            connection = connect();
            _made.Enqueue(connection);
        }
        try
        {
            return await use(connection);
        }
        finally
        {
            _idle.Add(connection);
            _free.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var connection in _made) await connection.DisposeAsync();
    }
}
