using System.Collections.Concurrent;

namespace ZeroDisk.RepairScheduler.Restarts;

/// <summary>
/// Counts crashes in a row per process and says how long to wait before the next restart: the first
/// <see cref="SchedulerOptions.ImmediateRestarts"/> at once, then doubling from
/// <see cref="SchedulerOptions.RestartBackoff"/> up to <see cref="SchedulerOptions.MaxRestartBackoff"/>. A process
/// that stayed up for <see cref="SchedulerOptions.CrashCountReset"/> starts over. One exit counts once: a report
/// handled again (its restart command failed and the bus retries it, or it was reported twice) is not a new crash,
/// or a process that crashed once would be held back as a crash loop by the retries of its own restart.
/// </summary>
public sealed class CrashLoopThrottle(SchedulerOptions options, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, (int Count, DateTimeOffset Last, string? Exit)> _crashes = new(StringComparer.Ordinal);

    /// <param name="process">node/role/id of the process.</param>
    /// <param name="exit">What identifies this exit (pid and start time), when known: the same exit again counts once.</param>
    public (int CrashesInARow, TimeSpan Delay) OnCrash(string process, string? exit = null)
    {
        var now = time.GetUtcNow();
        var (count, _, _) = _crashes.AddOrUpdate(process,
            _ => (1, now, exit),
            (_, previous) => exit is not null && previous.Exit == exit ? previous
                : (now - previous.Last > options.CrashCountReset ? 1 : previous.Count + 1, now, exit));
        if (count <= options.ImmediateRestarts) return (count, TimeSpan.Zero);
        var exponent = Math.Min(count - options.ImmediateRestarts - 1, 30);
        var delay = TimeSpan.FromTicks(Math.Min(options.RestartBackoff.Ticks << exponent, options.MaxRestartBackoff.Ticks));
        return (count, delay);
    }
}
