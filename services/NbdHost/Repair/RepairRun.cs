using Microsoft.Extensions.Logging;
using ZeroDisk.NbdHost.Storage;

namespace ZeroDisk.NbdHost.Repair;

/// <summary>What the two repairs share: waiting, with a visible reason, until their engines can be used.</summary>
internal abstract class RepairRun(VdiskStorage vdisk, StorageOptions options, ILogger log)
{
    private string? _pausedFor;

    protected VdiskStorage Vdisk => vdisk;
    protected StorageOptions Options => options;
    protected ILogger Log => log;

    /// <summary>Logs the reason once when a repair pauses, and waits before checking again (invariant 3: keep the dirty set).</summary>
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

    protected EngineSlot? FindSlot(VdiskTopology topology, string address) =>
        topology.Slots.FirstOrDefault(s => s.Address == address);
}
