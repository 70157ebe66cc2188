using Microsoft.Extensions.Logging;
using ZeroDisk.Contracts;
using ZeroDisk.Storage.Failover;

namespace ZeroDisk.Storage.RepairCopy;

/// <summary>
/// Runs the repairs etcd asks of one vdisk: a tmp repair for each engine in repair-tmp-outage not yet repaired here,
/// a respread for each shard with an engine in repair-final-outage. A repair whose state goes away is cancelled;
/// one whose state comes back starts again and resumes from what is stored (dirty set, respread cursor).
/// </summary>
internal sealed class RepairCoordinator(IRepairTarget vdisk, IStderrEvents events, StorageOptions options, ILogger log) : IAsyncDisposable
{
    private readonly Dictionary<string, (CancellationTokenSource Stop, Task Run)> _running = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    /// <summary>Repairs running now, keyed "tmp:&lt;address&gt;" or "final:&lt;address&gt;".</summary>
    public IReadOnlyCollection<string> Running
    {
        get { lock (_gate) return _running.Where(r => !r.Value.Run.IsCompleted).Select(r => r.Key).ToList(); }
    }

    public void Reconcile(VdiskTopology topology)
    {
        var wanted = new Dictionary<string, Func<CancellationToken, Task>>(StringComparer.Ordinal);
        foreach (var slot in topology.Slots)
        {
            if (slot is { State: EngineState.RepairTmpOutage, TmpRepaired: false })
            {
                var address = slot.Address;
                wanted[$"tmp:{address}"] = ct => new TmpOutageRepair(vdisk, address, events, options, log).RunAsync(ct);
            }
            else if (slot.State == EngineState.RepairFinalOutage && topology.IsRespreading(slot.Shard))
            {
                var address = slot.Address;
                wanted[$"final:{address}"] = ct => new FinalOutageRepair(vdisk, address, events, options, log).RunAsync(ct);
            }
        }
        lock (_gate)
        {
            foreach (var (key, running) in _running.ToList())
            {
                if (wanted.ContainsKey(key) && !running.Run.IsCompleted) continue;
                if (!running.Run.IsCompleted) log.LogInformation("vdisk {Vdisk}: stopping repair {Repair}: etcd no longer asks for it", vdisk.VdiskId, key);
                running.Stop.Cancel();
                _running.Remove(key);
            }
            foreach (var (key, start) in wanted)
            {
                if (_running.ContainsKey(key)) continue;
                var stop = new CancellationTokenSource();
                _running[key] = (stop, Task.Run(() => RunGuardedAsync(key, start, stop.Token)));
            }
        }
    }

    private async Task RunGuardedAsync(string key, Func<CancellationToken, Task> run, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await run(ct);
                return;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception) when (vdisk.IsFenced)
            {
                log.LogWarning("vdisk {Vdisk}: repair {Repair} stops: the vdisk is fenced out (another owner repairs it)", vdisk.VdiskId, key);
                return;
            }
            catch (Exception ex)
            {
                // What is stored (dirty set, cursor) is the progress: starting again resumes, it does not redo.
                log.LogError(ex, "vdisk {Vdisk}: repair {Repair} failed; resuming in {Delay}", vdisk.VdiskId, key, options.RepairRetryDelay);
                await Task.Delay(options.RepairRetryDelay, ct).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        List<Task> tasks;
        lock (_gate)
        {
            foreach (var r in _running.Values) r.Stop.Cancel();
            tasks = _running.Values.Select(r => r.Run).ToList();
            _running.Clear();
        }
        await Task.WhenAll(tasks);
    }
}
