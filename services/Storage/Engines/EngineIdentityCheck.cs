using System.Diagnostics;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using ZeroDisk.Contracts;

namespace ZeroDisk.Storage;

/// <summary>
/// Identity is checked, never assumed: an engine is used only while its identity marker (<see cref="EngineIdentity.RedisKey"/>)
/// equals the one etcd registered for it. Checked before an engine's first use in this process, after every reconnect,
/// when etcd brings a failed engine back and at every re-read of etcd; every write checks it again in its script.
/// An engine with no registered marker, or whose marker is missing (wiped, new disk) or different (another engine
/// at that address), is failed and reported: never read, written, fenced or copied from; its twin serves the shard.
/// The same check reads the engine's run_id: a changed one means the engine restarted (a crashed engine may have lost its last second).
/// </summary>
public static class EngineIdentityCheck
{
    /// <summary>True when the engine is verified now; else checks it (one check at a time per engine), false when it fails.</summary>
    public static Task<bool> EnsureVerifiedAsync(this StorageEngines engines, StorageEngine engine)
    {
        if (engine.IsVerified && !engine.IsFailed) return Task.FromResult(true);
        if (engine.IsFailed) return Task.FromResult(false); // a failed engine is checked when etcd brings it back
        lock (engine)
        {
            if (engine.Verification is { IsCompleted: false } running) return running;
            return engine.Verification = VerifiedAndUsableAsync(engines, engine);
        }
    }

    private static async Task<bool> VerifiedAndUsableAsync(StorageEngines engines, StorageEngine engine) =>
        await engines.VerifyIdentityAsync(engine) && !engine.IsFailed;

    /// <summary>
    /// Reads the engine's marker and run_id; marks it verified (and returns true) when the marker is the registered one
    /// and the run_id the one known (or none is known yet), else fails and reports it. Never clears a failure: a failed
    /// engine that passes is usable once etcd brings it back (<see cref="StorageEngines.RestoreAsync"/>).
    /// </summary>
    public static async Task<bool> VerifyIdentityAsync(this StorageEngines engines, StorageEngine engine)
    {
        var expected = engine.ExpectedIdentity;
        if (expected.Length == 0)
        {
            engine.ClearVerified();
            engines.ReportFailureAgain(engine, $"no identity marker is registered in etcd for it ({EtcdKeys.EngineIdentity(engine.Address)}): " +
                "an engine that cannot be verified is never used");
            return false;
        }
        string? runId, marker, notDurable;
        try
        {
            (runId, marker) = await ReadRunIdAndMarkerAsync(engine);
            // FLUSH and FUA rely on every engine fsyncing a write before acknowledging it: one that does not is refused too.
            notDurable = await EngineDurabilityCheck.FindProblemAsync(engine);
        }
        catch (Exception ex) when (StorageEngines.IsEngineFailure(ex))
        {
            engine.ClearVerified();
            engines.ReportFailure(engine, ex);
            return false;
        }
        if (marker != expected)
        {
            engine.ClearVerified();
            engines.ReportFailureAgain(engine, marker is null
                ? $"its identity marker {EngineIdentity.RedisKey} is missing: the engine lost its data (wiped, or a new disk); never used as if whole"
                : $"its identity marker is '{marker}' but etcd registered '{expected}': not the engine this cluster knows");
            return false;
        }
        if (notDurable is not null)
        {
            engine.ClearVerified();
            engines.ReportFailureAgain(engine, $"not durable: {notDurable}");
            return false;
        }
        var known = engine.RunId;
        engine.RunId = runId;
        if (known is not null && known != runId)
        {
            engines.Log.LogWarning("storage engine {Address} restarted (run_id {Old} -> {New}): failed until etcd brings it back through a repair (or it heals as its shard's last complete side)",
                engine.Address, known, runId);
            engines.ReportFailure(engine, $"restarted (run_id {known} -> {runId})");
            return false;
        }
        engine.MarkVerified(expected);
        return true;
    }

    /// <summary>
    /// Returns once the engine is not loading its files (it answers PING), answers with another error, or
    /// <paramref name="atMost"/> has passed: a restarted engine answers -LOADING to every command until then (and the
    /// client drops its connection on that answer and reconnects), and an identity check made meanwhile would fail an
    /// engine that is only not ready. One wait per engine, shared by everyone who asks.
    /// </summary>
    internal static Task WaitWhileLoadingAsync(this StorageEngines engines, StorageEngine engine, TimeSpan atMost)
    {
        lock (engine)
        {
            if (engine.LoadingWait is { IsCompleted: false } running) return running;
            return engine.LoadingWait = WaitAsync();
        }

        async Task WaitAsync()
        {
            var waited = Stopwatch.StartNew();
            var said = false;
            while (waited.Elapsed < atMost)
            {
                try
                {
                    // Not connected: the client is reconnecting (after a -LOADING, or the engine is down for good).
                    if (engine.Connection.IsConnected)
                    {
                        await engine.Database(0).PingAsync();
                        return;
                    }
                }
                catch (Exception ex) when (IsLoading(ex))
                {
                    if (!said && (said = true))
                        engines.Log.LogInformation("storage engine {Address} is loading its files: its identity is checked once it has", engine.Address);
                }
                catch (Exception ex) when (StorageEngines.IsEngineFailure(ex))
                {
                    return; // the identity check says what is wrong
                }
                await Task.Delay(LoadingPoll);
            }
            engines.Log.LogWarning("storage engine {Address} has not answered without -LOADING for {Waited}: checking its identity anyway", engine.Address, atMost);
        }
    }

    /// <summary>The engine answered -LOADING (the client reports it as a connection failure of type Loading).</summary>
    private static bool IsLoading(Exception ex) =>
        ex is RedisConnectionException { FailureType: ConnectionFailureType.Loading } || ex.Message.StartsWith("LOADING", StringComparison.Ordinal);

    private static readonly TimeSpan LoadingPoll = TimeSpan.FromMilliseconds(200);

    /// <summary>The engine's run_id and identity marker as it answers now (also what a stall probe compares).</summary>
    internal static async Task<(string? RunId, string? Marker)> ReadRunIdAndMarkerAsync(StorageEngine engine)
    {
        var server = engine.Connection.GetServer(engine.Connection.GetEndPoints()[0]);
        var info = server.InfoAsync("server");
        // The marker lives in db 0, whatever db a cluster config names for the blocks.
        var marker = engine.Database(0).StringGetAsync(EngineIdentity.RedisKey);
        var runId = (await info).SelectMany(g => g).FirstOrDefault(kv => kv.Key == "run_id").Value;
        return (runId, (string?)await marker);
    }
}
