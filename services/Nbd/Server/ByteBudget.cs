namespace ZeroDisk.Nbd;

/// <summary>
/// Bytes of request payloads and queued replies a connection (or, as the parent of every connection's budget, the
/// whole server) may hold at once. The receive loop takes a request's bytes before it rents a buffer for it and waits
/// when there is no room — back-pressure through TCP instead of buffering — while replies, which must not wait, are
/// charged by force and released once sent. A taker that holds nothing may always take (one maximum-size request
/// always proceeds). Lock-free; allocates only to wait.
/// </summary>
internal sealed class ByteBudget(long limit, ByteBudget? parent = null)
{
    private long _used;
    private TaskCompletionSource? _released;
    private int _closed;

    public long Limit => limit;

    public long Used => Volatile.Read(ref _used);

    /// <summary>
    /// Takes <paramref name="bytes"/> here and in the parent when both have room; otherwise takes nothing and names
    /// the budget that is full.
    /// </summary>
    public bool TryTake(long bytes, out ByteBudget? full)
    {
        if (!TryTakeHere(bytes))
        {
            full = this;
            return false;
        }
        if (parent is not null && !parent.TryTakeHere(bytes))
        {
            Interlocked.Add(ref _used, -bytes);
            full = parent;
            return false;
        }
        full = null;
        return true;
    }

    /// <summary>Takes <paramref name="bytes"/> whatever the room: for what cannot wait (a reply already made).</summary>
    public void ForceTake(long bytes)
    {
        Interlocked.Add(ref _used, bytes);
        if (parent is not null && Volatile.Read(ref _closed) == 0) Interlocked.Add(ref parent._used, bytes);
    }

    public void Release(long bytes)
    {
        if (bytes == 0) return;
        Interlocked.Add(ref _used, -bytes);
        Signal();
        if (parent is not null && Volatile.Read(ref _closed) == 0)
        {
            Interlocked.Add(ref parent._used, -bytes);
            parent.Signal();
        }
    }

    /// <summary>Completes at the next release (callers try again after it: several may wait at once).</summary>
    public Task WaitForReleaseAsync()
    {
        var waiter = Volatile.Read(ref _released);
        if (waiter is null)
        {
            var fresh = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            waiter = Interlocked.CompareExchange(ref _released, fresh, null) ?? fresh;
        }
        return waiter.Task;
    }

    /// <summary>
    /// Takes <paramref name="bytes"/>, waiting for room; <paramref name="beforeWaiting"/> runs before each wait (the
    /// receive loop sends the replies it has made, which are what frees room when the client reads them).
    /// </summary>
    public async ValueTask TakeAsync(long bytes, Func<ValueTask> beforeWaiting, CancellationToken ct)
    {
        while (!TryTake(bytes, out var full))
        {
            var released = full!.WaitForReleaseAsync();
            if (TryTake(bytes, out _)) return;
            await beforeWaiting().ConfigureAwait(false);
            await released.WaitAsync(ct).ConfigureAwait(false);
        }
    }

    /// <summary>The connection ended: whatever it still holds goes back to the parent at once, and only once.</summary>
    public void Close()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0) return;
        var left = Interlocked.Exchange(ref _used, 0);
        if (parent is not null && left != 0)
        {
            Interlocked.Add(ref parent._used, -left);
            parent.Signal();
        }
    }

    private bool TryTakeHere(long bytes)
    {
        while (true)
        {
            var used = Volatile.Read(ref _used);
            if (used > 0 && used + bytes > limit) return false;
            if (Interlocked.CompareExchange(ref _used, used + bytes, used) == used) return true;
        }
    }

    private void Signal()
    {
        if (Volatile.Read(ref _released) is not null) Interlocked.Exchange(ref _released, null)?.TrySetResult();
    }
}
