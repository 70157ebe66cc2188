namespace ZeroDisk.ClusterState.Tests.Fixtures;

/// <summary>Waits for a condition the system reaches asynchronously (an etcd value, a saga state); fails with what was awaited.</summary>
public static class Eventually
{
    public static async Task UntilAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"timed out waiting until {what}");
            await Task.Delay(50);
        }
    }
}
