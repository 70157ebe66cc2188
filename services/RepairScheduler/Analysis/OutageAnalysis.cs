using ZeroDisk.Contracts;

namespace ZeroDisk.RepairScheduler.Analysis;

/// <summary>
/// Seed step 3, "analyse the problem", for one engine: probe until it is clearly back (temporary) or clearly gone
/// (permanent). Back means <see cref="SchedulerOptions.GoodProbesForTemporary"/> good probes in a row with the
/// identity marker intact — classified at once, to shorten the time data has one copy. A lost marker is permanent
/// at once: a dirty-only resync onto an empty engine would silently lose data.
/// </summary>
public sealed class OutageAnalysis(SchedulerOptions options, TimeProvider time)
{
    public sealed record Classification(OutageKind Kind, string Reason);

    /// <param name="started">When the outage analysis began (a resumed analysis keeps its original deadline).</param>
    public async Task<Classification> RunAsync(Func<CancellationToken, Task<ProbeResult>> probe, Action<ProbeResult> onProbe, CancellationToken ct, DateTimeOffset? started = null)
    {
        var begun = started ?? time.GetUtcNow();
        var goodInARow = 0;
        var interval = options.ProbeInterval;
        while (true)
        {
            var result = await probe(ct);
            onProbe(result);
            var age = time.GetUtcNow() - begun;
            switch (result.Outcome)
            {
                case ProbeOutcome.IdentityLost:
                    return new(OutageKind.Permanent, result.Reason);
                case ProbeOutcome.Healthy when ++goodInARow >= options.GoodProbesForTemporary:
                    return new(OutageKind.Temporary, $"back after {age.TotalSeconds:F1} s: {goodInARow} good probes in a row");
                case ProbeOutcome.Healthy:
                    break;
                default:
                    goodInARow = 0;
                    break;
            }
            // An engine that answers well at the deadline finishes its streak: a scheduler restarted after the deadline
            // resumes with the original start time and must not call an engine that is back "not back".
            if (age >= options.Deadline && !result.Healthy)
                return new(OutageKind.Permanent, $"not back within the deadline of {options.Deadline.TotalSeconds:F0} s (last probe: {result.Reason})");

            // Fast while a reboot or restart is likely (the grace period), then back off up to the maximum.
            interval = result.Healthy || age < options.GracePeriod
                ? options.ProbeInterval
                : TimeSpan.FromTicks(Math.Min(interval.Ticks * 2, options.MaxProbeInterval.Ticks));
            var untilDeadline = options.Deadline - age;
            await Task.Delay(untilDeadline > TimeSpan.Zero && untilDeadline < interval ? untilDeadline : interval, time, ct);
        }
    }
}
