using StackExchange.Redis;
using ZeroDisk.Contracts;
using ZeroDisk.ServiceDefaults.Engines;

namespace ZeroDisk.RepairScheduler.Repair;

/// <summary>Connections to the engines one verification reads, opened on first use, each tried once, closed together.</summary>
internal sealed class EngineConnections(TimeSpan timeout) : IAsyncDisposable
{
    private readonly Dictionary<string, ConnectionMultiplexer?> _connections = new(StringComparer.Ordinal);

    /// <summary>Engines that answered.</summary>
    public int Scanned => _connections.Values.Count(c => c is not null);

    /// <returns>The connection, or null when the engine does not answer.</returns>
    public async Task<ConnectionMultiplexer?> ConnectAsync(string address, CancellationToken ct)
    {
        if (_connections.TryGetValue(address, out var known)) return known;
        var options = EngineConnection.Options(address);
        options.AbortOnConnectFail = true;
        options.ConnectRetry = 0;
        options.AllowAdmin = true;
        options.ConnectTimeout = (int)timeout.TotalMilliseconds;
        options.SyncTimeout = options.AsyncTimeout = (int)Math.Max(timeout.TotalMilliseconds, 5000);
        options.ClientName = "zerodisk-verify";
        ConnectionMultiplexer? connection = null;
        try
        {
            connection = await ConnectionMultiplexer.ConnectAsync(options).WaitAsync(timeout * 2, ct);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or System.Net.Sockets.SocketException)
        {
            // does not answer
        }
        _connections[address] = connection;
        return connection;
    }

    public async Task<IDatabase?> DatabaseAsync(StorageServerConfig server, CancellationToken ct) =>
        (await ConnectAsync(server.Address, ct))?.GetDatabase(server.Db);

    public async ValueTask DisposeAsync()
    {
        foreach (var connection in _connections.Values)
            if (connection is not null) await connection.DisposeAsync();
    }
}
