namespace ZeroDisk.NbdHost.Agent.Tests;

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
}
