namespace ZeroDisk.ClusterState.Tests.Scheduler;

/// <summary>
/// Samples a condition on etcd every 20 ms in the background, counting the samples where it held: a state that must
/// never be seen (a shard with no online side, a stale side online alone) is caught even if it lasts a moment.
/// </summary>
public sealed class StateWatch : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private int _seen;

    public StateWatch(Func<Task<bool>> forbidden) => _loop = Task.Run(async () =>
    {
        while (!_stop.IsCancellationRequested)
        {
            if (await forbidden()) Interlocked.Increment(ref _seen);
            await Task.Delay(20);
        }
    });

    /// <summary>Stops sampling; how many samples found the condition.</summary>
    public async Task<int> StopAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        return _seen;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop.Dispose();
    }
}
