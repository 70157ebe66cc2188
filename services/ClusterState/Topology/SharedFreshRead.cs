namespace ZeroDisk.ClusterState.Topology;

/// <summary>
/// One read out at a time, shared by every caller that asked before it started. A caller never gets a result whose
/// read began before it asked, so what it gets is as fresh as a read of its own; callers that ask while a read is out
/// wait for the next one, which starts as soon as that one ends and serves them all. A burst of incidents then reads
/// the topology a few times instead of once per report, and a lone caller waits for nothing.
/// </summary>
internal sealed class SharedFreshRead<T>(Func<CancellationToken, Task<T>> read)
{
    private readonly Lock _gate = new();
    private bool _reading;
    private TaskCompletionSource<T>? _next; // callers waiting for a read that has not started yet
    private long _reads;

    /// <summary>Reads started so far.</summary>
    public long Reads => Interlocked.Read(ref _reads);

    /// <param name="ct">Stops this caller's wait only: the read itself is shared, so it runs on without a token.</param>
    public Task<T> ReadAsync(CancellationToken ct)
    {
        TaskCompletionSource<T>? startNow = null;
        Task<T> result;
        lock (_gate)
        {
            if (_reading)
            {
                result = (_next ??= new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
            }
            else
            {
                _reading = true;
                startNow = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
                result = startNow.Task;
            }
        }
        if (startNow is not null) _ = RunAsync(startNow);
        return result.WaitAsync(ct);
    }

    /// <summary>Reads for <paramref name="waiters"/>, then for whoever asked meanwhile, until nobody waits.</summary>
    private async Task RunAsync(TaskCompletionSource<T> waiters)
    {
        while (true)
        {
            Interlocked.Increment(ref _reads);
            try
            {
                waiters.TrySetResult(await read(CancellationToken.None));
            }
            catch (Exception ex)
            {
                waiters.TrySetException(ex); // each waiter's message retries as it would after a read of its own
            }
            lock (_gate)
            {
                if (_next is null)
                {
                    _reading = false;
                    return;
                }
                waiters = _next;
                _next = null;
            }
        }
    }
}
