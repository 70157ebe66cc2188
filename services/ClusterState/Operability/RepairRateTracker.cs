namespace ZeroDisk.ClusterState.Operability;

/// <summary>
/// The remaining blocks of each incident's repair as observed over time: the most seen (the total), and the rate over
/// the last <see cref="Window"/> (blocks copied per second), from which the ETA follows. Samples of incidents no
/// longer in progress are dropped.
/// </summary>
public sealed class RepairRateTracker
{
    public static readonly TimeSpan Window = TimeSpan.FromSeconds(60);

    private readonly Dictionary<string, (long Peak, Queue<(DateTimeOffset At, long Remaining)> Samples)> _incidents = new(StringComparer.Ordinal);

    public (long Total, double? PerSecond) Observe(string incident, DateTimeOffset at, long remaining)
    {
        if (!_incidents.TryGetValue(incident, out var entry)) entry = (remaining, new Queue<(DateTimeOffset, long)>());
        entry.Samples.Enqueue((at, remaining));
        while (entry.Samples.Count > 2 && at - entry.Samples.Peek().At > Window) entry.Samples.Dequeue();
        entry = (Math.Max(entry.Peak, remaining), entry.Samples);
        _incidents[incident] = entry;
        var (firstAt, firstRemaining) = entry.Samples.Peek();
        var seconds = (at - firstAt).TotalSeconds;
        double? rate = seconds >= 1 ? Math.Max(0, (firstRemaining - remaining) / seconds) : null;
        return (entry.Peak, rate);
    }

    public void Retain(IReadOnlySet<string> incidents)
    {
        foreach (var gone in _incidents.Keys.Where(k => !incidents.Contains(k)).ToList()) _incidents.Remove(gone);
    }
}
