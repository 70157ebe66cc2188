using ZeroDisk.Storage.Ownership;
using System.Collections.Concurrent;
using MassTransit;
using Microsoft.Extensions.Logging;
using ZeroDisk.Contracts;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.NodeAgent;

/// <summary>
/// Starts (or restarts) an NBD server and then its VM. A server whose vdisk is being repaired (owner key held with
/// kind repair) is not started: the refusal goes to the server's log stream and the bus, and the start waits until
/// the repair ends. The VM hook runs once the server serves, i.e. owns every one of its vdisks.
/// etcd being unreachable is waited out, never a reason to give up: the restart command was acknowledged when its
/// launch was queued, so a launch dropped here is a crashed server nobody restarts (etcd was killed while a restart
/// was on its way, and the server stayed down: fault-check seed 1018).
/// </summary>
public sealed class NbdServerLauncher(AgentOptions options, ChildSupervisor supervisor, ChildCommands commands, EtcdGrpc etcd,
    VmHook vmHook, PendingLaunches pending, IPublishEndpoint bus, ILogger<NbdServerLauncher> logger)
{
    private static readonly TimeSpan EtcdWait = TimeSpan.FromSeconds(2);
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Task> _queued = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _starting = new(StringComparer.Ordinal);

    /// <summary>
    /// Records the start durably (a killed agent's successor resumes it) and runs it in the background. A command
    /// that finds a launch of the server still queued (waiting for etcd or a repair) joins it: that launch starts the
    /// server after both commands. One that comes once the queued launch has started the server is a launch of its
    /// own, a restart: it may report an exit of the server just started (fault-check seed 1 in CI: the server was
    /// killed again while its first restart waited for it to serve, the second command joined that launch, which then
    /// saw its server gone and ended, and the server stayed down).
    /// </summary>
    public Task LaunchAsync(string serverId, CancellationToken ct)
    {
        lock (_gate)
        {
            pending.Record(serverId);
            if (_queued.TryGetValue(serverId, out var queued)) return queued;
            var launch = Task.Run(() => RunAsync(serverId, ct), ct);
            _queued[serverId] = launch;
            return launch;
        }
    }

    private async Task RunAsync(string serverId, CancellationToken ct)
    {
        var left = false;
        try
        {
            var vdisks = await WhileEtcdUnavailableAsync(serverId, async () =>
            {
                var vdisks = (await etcd.GetAsync<NbdServerVdisksConfig>(EtcdKeys.NbdServerVdisks(serverId), ct))?.Value.Vdisks ?? [];
                await WaitWhileRepairedAsync(serverId, vdisks, ct);
                return vdisks;
            }, ct);
            // One start of a server at a time: two at once would each stop what runs and start a process of their own.
            var starting = _starting.GetOrAdd(serverId, _ => new SemaphoreSlim(1, 1));
            await starting.WaitAsync(ct);
            ChildRecord started;
            try
            {
                LeaveQueue(serverId);
                left = true;
                started = await supervisor.StartAsync(commands.NbdServer(serverId), ct);
            }
            finally
            {
                starting.Release();
            }
            ClearIfNoneQueued(serverId);
            if (await ServesAsync(started, vdisks, ct)) await vmHook.RunAsync(serverId, ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The agent stops: the record stays, and the next agent starts the server.
            if (!left) LeaveQueue(serverId);
        }
        catch (Exception ex)
        {
            if (!left) LeaveQueue(serverId);
            ClearIfNoneQueued(serverId);
            logger.LogError(ex, "NBD server {Server} not started", serverId);
        }
    }

    /// <summary>Called once by each launch, as it starts the server or gives up: until then the queued launch is the caller's.</summary>
    private void LeaveQueue(string serverId)
    {
        lock (_gate) _queued.Remove(serverId);
    }

    /// <summary>The durable record goes only when no command since has queued another start.</summary>
    private void ClearIfNoneQueued(string serverId)
    {
        lock (_gate)
        {
            if (!_queued.ContainsKey(serverId)) pending.Clear(serverId);
        }
    }

    /// <summary>
    /// At start-up, before any command is consumed: the starts a previous agent acknowledged and did not do. A server
    /// that runs (adopted, so it was started) only loses its record.
    /// </summary>
    public void ResumePending(CancellationToken ct)
    {
        foreach (var serverId in pending.List())
        {
            if (supervisor.IsRunning(ProcessRole.NbdServer, serverId))
            {
                pending.Clear(serverId);
                continue;
            }
            logger.LogWarning("Resuming the start of NBD server {Server}: a previous agent acknowledged it and stopped before doing it", serverId);
            _ = LaunchAsync(serverId, ct);
        }
    }

    private async Task<T> WhileEtcdUnavailableAsync<T>(string serverId, Func<Task<T>> step, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await step();
            }
            catch (Exception ex) when (EtcdUnavailableRetry.IsEtcdUnavailable(ex) && !ct.IsCancellationRequested)
            {
                if (attempt == 1) logger.LogWarning("Start of NBD server {Server} waits for etcd: {Error}", serverId, ex.Message);
                await Task.Delay(EtcdWait, ct);
            }
        }
    }

    private async Task WaitWhileRepairedAsync(string serverId, IReadOnlyList<string> vdisks, CancellationToken ct)
    {
        var reported = new HashSet<string>(StringComparer.Ordinal);
        while (true)
        {
            var blocked = false;
            foreach (var vdisk in vdisks)
            {
                if (await VdiskOwnership.ReadAsync(etcd, vdisk, ct) is not { Kind: VdiskOwnerKind.Repair } owner) continue;
                blocked = true;
                if (reported.Add(vdisk)) await ReportDeferredAsync(serverId, vdisk, owner, ct);
            }
            if (!blocked) break;
            await Task.Delay(options.RepairPollInterval, ct);
        }
        if (reported.Count > 0) logger.LogInformation("repair of [{Vdisks}] ended: starting NBD server {Server}", string.Join(", ", reported), serverId);
    }

    private async Task ReportDeferredAsync(string serverId, string vdisk, VdiskOwner owner, CancellationToken ct)
    {
        var message = $"zerodisk-agent: start of nbdserver {serverId} refused: vdisk {vdisk} is under repair (owner {owner.Server}, epoch {owner.Epoch}); queued until the repair ends";
        logger.LogWarning("{Message}", message);
        await ChildSupervisor.AppendLineAsync(supervisor.PathsOf(ProcessRole.NbdServer, serverId).LogFile, message);
        await bus.Publish(new NbdServerStartDeferred
        {
            Node = options.Node, ServerId = serverId, VdiskId = vdisk, RepairOwner = owner.Server, RepairEpoch = owner.Epoch,
            DeferredAt = DateTimeOffset.UtcNow,
        }, ct);
    }

    /// <summary>True once every vdisk is owned by this start of the server; false when that process is gone first.</summary>
    private async Task<bool> ServesAsync(ChildRecord started, IReadOnlyList<string> vdisks, CancellationToken ct)
    {
        var serverId = started.Id;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(options.ServeTimeout);
        try
        {
            foreach (var vdisk in vdisks)
                while (await WhileEtcdUnavailableAsync(serverId, () => VdiskOwnership.ReadAsync(etcd, vdisk, deadline.Token), deadline.Token)
                       is not { Kind: VdiskOwnerKind.Vm } owner || owner.Server != serverId)
                {
                    if (!supervisor.IsRunning(started))
                    {
                        if (supervisor.IsRunning(ProcessRole.NbdServer, serverId))
                            logger.LogInformation("NBD server {Server} (pid {Pid}) was restarted before it served {Vdisk}: the newer start runs the VM hook",
                                serverId, started.Pid, vdisk);
                        else
                            logger.LogError("NBD server {Server} exited before it served {Vdisk}: VM not restarted", serverId, vdisk);
                        return false;
                    }
                    await Task.Delay(100, deadline.Token);
                }
            return true;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            logger.LogError("NBD server {Server} did not own its vdisks within {Timeout}: VM not restarted", serverId, options.ServeTimeout);
            return false;
        }
    }
}
