using System.Net;
using StackExchange.Redis;
using ZeroDisk.ServiceDefaults.Engines;

namespace ZeroDisk.ClusterState.StorageEngines;

/// <summary>
/// A short-lived connection to an engine for one question (does it answer, what do its dirty sets hold), bounded by
/// <c>timeout</c> for the connect and each command: the control plane asks this of engines that may be dead or stalled.
/// </summary>
internal static class EngineProbe
{
    public static async Task<ConnectionMultiplexer> ConnectAsync(string address, TimeSpan timeout, CancellationToken ct)
    {
        var options = EngineConnection.Options(address);
        // A name under .invalid never resolves (RFC 6761): such an engine (the start-up rehearsal's) cannot answer,
        // and asking a resolver about it would be a connection to an address nobody configured.
        if (options.EndPoints is [DnsEndPoint { Host: var host }] && host.EndsWith(".invalid", StringComparison.OrdinalIgnoreCase))
            throw new RedisConnectionException(ConnectionFailureType.UnableToResolvePhysicalConnection, $"{address}: a name under .invalid never resolves");
        options.AbortOnConnectFail = true;
        options.ConnectRetry = 0;
        options.ConnectTimeout = options.SyncTimeout = options.AsyncTimeout = (int)timeout.TotalMilliseconds;
        options.ClientName = "zerodisk-clusterstate-check";
        return await ConnectionMultiplexer.ConnectAsync(options).WaitAsync(timeout * 2, ct);
    }

    /// <summary>What a dead, stalled or unreachable engine throws.</summary>
    public static bool IsNoAnswer(Exception ex) => ex is RedisException or TimeoutException or System.Net.Sockets.SocketException;
}
