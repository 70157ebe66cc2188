using System.Globalization;

namespace ZeroDisk.FaultCheck;

/// <summary>
/// Shrinking a failing schedule: drop one fault at a time and keep the drop when the run still fails
/// the same way; then end the run 5 s after the last remaining fault heals; then halve every fault's length. Each
/// try is a whole run on a fresh stack, so the number of tries is bounded. The result is printed with the command
/// that reruns it (<c>--seed N --seconds S --only 0,3,5 [--scale 0.5] [--length L]</c>; S is the length the schedule was drawn with).
/// </summary>
public sealed class Shrinker(Func<FaultSchedule, Task<FaultRunResult>> run, Action<string> log, int maxRuns, TimeSpan drawn)
{
    /// <summary>What kind of violation a run ended with: a shrunk schedule must fail the same way, not just fail.</summary>
    public static string Category(Violation v) => v.What switch
    {
        var w when w.Contains("did not settle", StringComparison.Ordinal) => "not settled",
        var w when w.Contains("primary and slave differ", StringComparison.Ordinal) => "twins differ",
        var w when w.StartsWith("EIO", StringComparison.Ordinal) => "EIO with a serving side",
        var w when w.StartsWith("fio", StringComparison.Ordinal) => "fio",
        var w when w.Contains("recorded twice", StringComparison.Ordinal) => "transition twice",
        var w when w.Contains(" sector ", StringComparison.Ordinal) => "block data",
        _ => "other",
    };

    public sealed record Outcome(FaultSchedule Schedule, double Scale, int Runs, string Rerun);

    public async Task<Outcome> ShrinkAsync(FaultSchedule failing, FaultRunResult first)
    {
        var category = Category(first.Violations[0]);
        var keep = failing.Faults.Select(f => f.Index).ToList();
        var length = failing.Length;
        var scale = 1.0;
        var runs = 0;
        async Task<bool> StillFails(List<int> indexes, double s, TimeSpan l, string what)
        {
            if (runs >= maxRuns) return false;
            runs++;
            var candidate = failing.Only(indexes, s, l);
            log($"shrink try {runs}/{maxRuns}: {what}: faults [{string.Join(',', indexes)}], scale {s}, {l.TotalSeconds:0} s");
            FaultRunResult result;
            try
            {
                result = await run(candidate);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                log($"shrink try {runs}: the run could not complete ({ex.GetType().Name}: {ex.Message}): counted as not failing");
                return false;
            }
            var same = !result.Passed && result.Violations.Any(v => Category(v) == category);
            log($"shrink try {runs}: {(same ? $"still fails ({category})" : result.Passed ? "passes" : $"fails otherwise ({Category(result.Violations[0])})")}");
            return same;
        }
        foreach (var index in failing.Faults.Select(f => f.Index).ToList())
        {
            if (keep.Count <= 1 || runs >= maxRuns) break;
            var without = keep.Where(i => i != index).ToList();
            if (await StillFails(without, scale, length, $"without fault #{index}")) keep = without;
        }
        var lastHeal = failing.Faults.Where(f => keep.Contains(f.Index)).Select(f => f.Heals).DefaultIfEmpty(TimeSpan.Zero).Max();
        var shorter = TimeSpan.FromSeconds(Math.Max(20, Math.Ceiling(lastHeal.TotalSeconds) + 5));
        if (shorter < length && await StillFails(keep, scale, shorter, $"the run cut to {shorter.TotalSeconds:0} s")) length = shorter;
        if (await StillFails(keep, 0.5, length, "every fault half as long")) scale = 0.5;
        var minimal = failing.Only(keep, scale, length);
        var rerun = string.Create(CultureInfo.InvariantCulture,
            $"zdfaultcheck --seed {failing.Seed} --seconds {drawn.TotalSeconds:0} --kinds {string.Join(',', failing.Kinds)} --only {string.Join(',', keep)}{(scale != 1 ? $" --scale {scale}" : "")}{(length != drawn ? $" --length {length.TotalSeconds:0}" : "")}");
        return new Outcome(minimal, scale, runs, rerun);
    }
}
