using StackExchange.Redis;
using ZeroDisk.Contracts;
using ZeroDisk.ServiceDefaults.Engines;

namespace ZeroDisk.RepairScheduler.Analysis;

/// <summary>
/// Probes one storage engine (seed step 3): connect, PING, a SET/GET/DEL of a test key, the durability settings
/// (<see cref="Contracts.EngineDurability"/>), and the identity marker.
/// </summary>
public sealed class EngineProbe(TimeSpan timeout)
{
    /// <param name="expectedIdentity">The marker etcd expects, or null when none was ever registered.</param>
    public async Task<ProbeResult> ProbeAsync(string address, int db, string? expectedIdentity, CancellationToken ct)
    {
        var options = EngineConnection.Options(address);
        options.AbortOnConnectFail = true;
        options.ConnectRetry = 0;
        options.AllowAdmin = true;
        options.ConnectTimeout = options.SyncTimeout = options.AsyncTimeout = (int)timeout.TotalMilliseconds;
        options.ClientName = "zerodisk-probe";
        try
        {
            await using var connection = await ConnectionMultiplexer.ConnectAsync(options).WaitAsync(timeout * 2, ct);
            var redis = connection.GetDatabase(db);
            await redis.PingAsync();
            var probeKey = $"zerodisk:probe:{Guid.NewGuid():N}";
            await redis.StringSetAsync(probeKey, probeKey, TimeSpan.FromMinutes(1));
            var echoed = await redis.StringGetAsync(probeKey);
            await redis.KeyDeleteAsync(probeKey);
            if (echoed != probeKey)
                return new(ProbeOutcome.Unreachable, "test key read back wrong");

            var server = connection.GetServer(connection.GetEndPoints()[0]);
            foreach (var (name, expected) in EngineDurability.Settings)
            {
                var actual = (await server.ConfigGetAsync(name)).FirstOrDefault().Value;
                if (!string.Equals(actual, expected, StringComparison.OrdinalIgnoreCase))
                    return new(ProbeOutcome.Misconfigured, $"{name} is '{actual}', must be '{expected}'");
            }

            var runId = (await server.InfoAsync("server")).SelectMany(g => g).FirstOrDefault(kv => kv.Key == "run_id").Value;
            if (expectedIdentity is not null)
            {
                // The marker lives in db 0 whatever db the cluster keeps its blocks in, where registration writes it.
                var marker = await connection.GetDatabase(0).StringGetAsync(EngineIdentity.RedisKey);
                if (marker.IsNull)
                    return new(ProbeOutcome.IdentityLost, $"identity marker {EngineIdentity.RedisKey} is missing: the engine lost its data", runId);
                if (marker != expectedIdentity)
                    return new(ProbeOutcome.IdentityLost, $"identity marker is '{marker}', expected '{expectedIdentity}': another disk", runId);
            }
            return new(ProbeOutcome.Healthy, "PING, SET/GET/DEL, durability settings and identity marker good", runId);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or System.Net.Sockets.SocketException)
        {
            return new(ProbeOutcome.Unreachable, ex.Message);
        }
    }
}
