namespace ZeroDisk.LocalStack;

/// <summary>
/// Waits for what the system reaches asynchronously (an etcd value, a saga state, a captured message), polling
/// with a deadline; fails with what was awaited. One helper for every test project.
/// </summary>
public static class Eventually
{
    /// <summary>Polls <paramref name="read"/> until <paramref name="done"/> holds; throws with the last value after the timeout.</summary>
    public static async Task<T> ValueAsync<T>(Func<Task<T>> read, Func<T, bool> done, TimeSpan timeout, TimeSpan? every = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        T value;
        while (!done(value = await read()))
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"condition not met within {timeout}; last value: {value}");
            await Task.Delay(every ?? TimeSpan.FromMilliseconds(50));
        }
        return value;
    }

    public static async Task UntilAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        try
        {
            await ValueAsync(condition, ok => ok, timeout ?? TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"timed out waiting until {what}");
        }
    }

    public static Task TrueAsync(Func<bool> condition, TimeSpan within, string what) =>
        UntilAsync(() => Task.FromResult(condition()), what, within);
}
