namespace ZeroDisk.RepairScheduler.Tests;

internal static class Eventually
{
    public static async Task TrueAsync(Func<bool> condition, TimeSpan within, string what)
    {
        var deadline = DateTime.UtcNow + within;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"not within {within}: {what}");
            await Task.Delay(50);
        }
    }
}
