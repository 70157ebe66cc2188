using System.Diagnostics;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace ZeroDisk.Storage.RepairCopy;

/// <summary>
/// What the two repairs share: waiting, with a visible reason, until their engines can be used, and keeping to the
/// configured copy rate.
/// </summary>
internal abstract class RepairRun(IRepairTarget vdisk, StorageOptions options, ILogger log)
{
    private string? _pausedFor;
    private readonly Stopwatch _pacing = Stopwatch.StartNew();
    private long _pacedBytes;

    protected IRepairTarget Vdisk => vdisk;
    protected StorageOptions Options => options;
    protected ILogger Log => log;

    /// <summary>Logs the reason once when a repair pauses, and waits before checking again (reads only from a complete side: keep the dirty set).</summary>
    protected async Task PauseAsync(string reason, CancellationToken ct)
    {
        if (_pausedFor != reason)
        {
            _pausedFor = reason;
            log.LogWarning("vdisk {Vdisk}: repair paused: {Reason}", vdisk.VdiskId, reason);
        }
        await Task.Delay(options.RepairRetryDelay, ct);
    }

    protected void Resumed()
    {
        if (_pausedFor is null) return;
        log.LogInformation("vdisk {Vdisk}: repair resumed", vdisk.VdiskId);
        _pausedFor = null;
    }

    /// <summary>After copying <paramref name="bytes"/>, waits as long as the run is ahead of <see cref="StorageOptions.RepairBytesPerSecond"/>.</summary>
    protected async Task PaceAsync(long bytes, CancellationToken ct)
    {
        if (options.RepairBytesPerSecond <= 0) return;
        _pacedBytes += bytes;
        var due = TimeSpan.FromSeconds((double)_pacedBytes / options.RepairBytesPerSecond);
        var ahead = due - _pacing.Elapsed;
        if (ahead > TimeSpan.Zero) await Task.Delay(ahead, ct);
    }

    /// <summary>
    /// The blocks' contents on the source side (null = absent: copied as a delete); a failure of the source engine is
    /// reported (failover) before it is rethrown.
    /// </summary>
    protected async Task<RedisValue[]> ReadBlocksAsync(EngineSlot source, RedisValue[] blocks)
    {
        try
        {
            return await BlockContents.ReadAsync(source, vdisk.Blocks.BlocksKey, blocks);
        }
        catch (Exception ex) when (StorageEngines.IsEngineFailure(ex))
        {
            vdisk.Engines.ReportFailure(source.Engine, ex);
            throw;
        }
    }

    protected EngineSlot? FindSlot(VdiskTopology topology, string address) =>
        topology.Slots.FirstOrDefault(s => s.Address == address);
}
