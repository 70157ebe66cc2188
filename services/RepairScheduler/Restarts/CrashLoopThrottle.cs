using System.Collections.Concurrent;

namespace ZeroDisk.RepairScheduler.Restarts;

/// <summary>
/// Counts crashes in a row per process and says how long to wait before the next restart: the first
/// <see cref="SchedulerOptions.ImmediateRestarts"/> at once, then doubling from
/// <see cref="SchedulerOptions.RestartBackoff"/> up to <see cref="SchedulerOptions.MaxRestartBackoff"/>. A process
/// that stayed up for <see cref="SchedulerOptions.CrashCountReset"/> starts over.
/// </summary>
public sealed class CrashLoopThrottle(SchedulerOptions options, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, (int Count, DateTimeOffset Last)> _crashes = new(StringComparer.Ordinal);

    public (int CrashesInARow, TimeSpan Delay) OnCrash(string process)
    {
        var now = time.GetUtcNow();
        var (count, _) = _crashes.AddOrUpdate(process,
            _ => (1, now),
            (_, previous) => (now - previous.Last > options.CrashCountReset ? 1 : previous.Count + 1, now));
        if (count <= options.ImmediateRestarts) return (count, TimeSpan.Zero);
        var exponent = Math.Min(count - options.ImmediateRestarts - 1, 30);
        var delay = TimeSpan.FromTicks(Math.Min(options.RestartBackoff.Ticks << exponent, options.MaxRestartBackoff.Ticks));
        return (count, delay);
    }
}
