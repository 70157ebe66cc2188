using System.Diagnostics;

namespace ZeroDisk.LocalStack;

/// <summary>
/// Waits for what the system reaches asynchronously (an etcd value, a saga state, a listening port, a log line),
/// polling with a deadline; fails with what was awaited. The one deadline loop of the tests and the tools.
/// </summary>
public static class Eventually
{
    private static readonly TimeSpan DefaultInterval = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// Polls <paramref name="read"/> until <paramref name="done"/> holds and returns that value; after the timeout
    /// throws <see cref="TimeoutException"/> with the last value (and <paramref name="detail"/>, e.g. a process's output).
    /// </summary>
    public static async Task<T> ValueAsync<T>(Func<Task<T>> read, Func<T, bool> done, TimeSpan timeout, TimeSpan? every = null,
        string? what = null, Func<string>? detail = null, CancellationToken ct = default)
    {
        var (met, value) = await PollAsync(read, done, timeout, every, transient: null, ct);
        if (met) return value;
        var message = what is null ? $"condition not met within {timeout}; last value: {value}" : $"timed out after {timeout} waiting until {what}; last value: {value}";
        throw new TimeoutException(detail is null ? message : $"{message}; {detail()}");
    }

    /// <summary>Polls until <paramref name="condition"/> holds; throws naming <paramref name="what"/> after the timeout (30 s by default).</summary>
    public static Task UntilAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null, TimeSpan? every = null, Func<string>? detail = null)
    {
        var within = timeout ?? TimeSpan.FromSeconds(30);
        return ValueAsync(condition, ok => ok, within, every, what, detail);
    }

    public static Task TrueAsync(Func<bool> condition, TimeSpan within, string what, Func<string>? detail = null, TimeSpan? every = null) =>
        UntilAsync(() => Task.FromResult(condition()), what, within, every, detail);

    /// <summary>
    /// Polls until <paramref name="condition"/> holds and says whether it did in time, without throwing: for tools that
    /// report a wait that gave up instead of failing. An exception <paramref name="transient"/> accepts counts as "not yet"
    /// (a service restarting).
    /// </summary>
    public static async Task<bool> WithinAsync(Func<Task<bool>> condition, TimeSpan within, TimeSpan? every = null,
        Func<Exception, bool>? transient = null, CancellationToken ct = default) =>
        (await PollAsync(condition, ok => ok, within, every, transient, ct)).Met;

    /// <summary>The loop itself: reads until done or past the deadline (measured on the monotonic clock).</summary>
    public static async Task<(bool Met, T Last)> PollAsync<T>(Func<Task<T>> read, Func<T, bool> done, TimeSpan within, TimeSpan? every = null,
        Func<Exception, bool>? transient = null, CancellationToken ct = default)
    {
        var started = Stopwatch.GetTimestamp();
        T value = default!;
        while (true)
        {
            try
            {
                if (done(value = await read())) return (true, value);
            }
            catch (Exception ex) when (transient?.Invoke(ex) == true)
            {
                /* not up yet */
            }
            if (Stopwatch.GetElapsedTime(started) > within) return (false, value);
            await Task.Delay(every ?? DefaultInterval, ct);
        }
    }
}
