using System.Globalization;
using System.Text;

namespace ZeroDisk.FaultCheck;

/// <summary>What a fault does. The first group is what the stack must survive today (CI's seeds); the rest are opt-in.</summary>
public enum FaultKind
{
    EngineKill,
    EngineStop,
    ClientPause,
    ServeKill,
    CollectorKill,
    ClusterStateKill,
    SchedulerKill,
    BusDuplicate,
    // Harder ones, chosen with --kinds.
    EngineRestartOld,
    EngineWipe,
    MaxMemory,
    BothTwinsKill,
    RabbitMqKill,
    EtcdKill,
    DeclarePermanent,
    // Added in session 7 (appended, so the schedules of earlier seeds with explicit kinds stay the same).
    DebugSleep,
    AgentKill,
    TlogKill,
    BothTwinsStop,
    BothTwinsSlow,
    // Added in session 16: not in 'all' (whose schedules regression seeds name), only in 'every' or by name.
    OwnerLeaseLapse,
}

public enum Side { Primary, Slave }

/// <summary>One timed fault: starts at <see cref="At"/>, heals after <see cref="For"/> (a kill's downtime, a pause's length).</summary>
public sealed record Fault(int Index, FaultKind Kind, TimeSpan At, TimeSpan For, Side Side, int Shard)
{
    public TimeSpan Heals => At + For;

    /// <summary>The node an <see cref="FaultKind.AgentKill"/> hits (1 serves vd0/vd1, 2 runs the parked vdisk's repair jobs).</summary>
    public int Node => Shard + 1;

    /// <summary>True when the fault touches a storage engine (which side and shard matter).</summary>
    public bool OnEngine => Kind is FaultKind.EngineKill or FaultKind.EngineStop or FaultKind.ClientPause or FaultKind.EngineRestartOld
        or FaultKind.EngineWipe or FaultKind.MaxMemory or FaultKind.BothTwinsKill or FaultKind.DeclarePermanent
        or FaultKind.DebugSleep or FaultKind.BothTwinsStop or FaultKind.BothTwinsSlow;

    /// <summary>Both twins of the shard are unavailable while it lasts: EIO is expected then, not data.</summary>
    public bool TakesBothTwins => Kind is FaultKind.BothTwinsKill or FaultKind.BothTwinsStop or FaultKind.BothTwinsSlow;

    public override string ToString()
    {
        var where = TakesBothTwins ? $" shard {Shard} (both twins)"
            : Kind == FaultKind.AgentKill ? $" node {Node}"
            : Kind == FaultKind.OwnerLeaseLapse ? $" vd{Shard}"
            : OnEngine ? $" {Side.ToString().ToLowerInvariant()} shard {Shard}" : "";
        return string.Create(CultureInfo.InvariantCulture, $"#{Index,-2} {At.TotalSeconds,6:0.0}s  {Kind}{where}, for {For.TotalSeconds:0.0}s");
    }
}

/// <summary>
/// A seeded fault schedule: the same seed, kinds and length give the same faults, in the same order, at the same
/// offsets (System.Random(seed) is deterministic across runs of the same runtime). Faults overlap; engine faults
/// never put both twins of a shard down at once unless the kind is <see cref="FaultKind.BothTwinsKill"/>, and a
/// shard that lost an engine for good (<see cref="FaultKind.DeclarePermanent"/>, <see cref="FaultKind.EngineWipe"/>)
/// gets no further engine faults.
/// </summary>
public sealed record FaultSchedule(int Seed, TimeSpan Length, IReadOnlyList<FaultKind> Kinds, IReadOnlyList<Fault> Faults)
{
    public const int Shards = 2;

    /// <summary>The kinds the stack must survive today: CI's seeds draw from these.</summary>
    public static readonly IReadOnlyList<FaultKind> Survivable =
    [
        FaultKind.EngineKill, FaultKind.EngineStop, FaultKind.ClientPause, FaultKind.ServeKill, FaultKind.CollectorKill,
        FaultKind.ClusterStateKill, FaultKind.SchedulerKill, FaultKind.BusDuplicate,
    ];

    /// <summary>
    /// What <c>--kinds all</c> means: the kinds up to session 15, frozen, so that a seed recorded with 'all' (seed 1000's
    /// regression test) draws the same schedule for good. Kinds added since are drawn by name or with 'every'.
    /// </summary>
    public static readonly IReadOnlyList<FaultKind> All = [.. Enum.GetValues<FaultKind>().Where(k => k <= FaultKind.BothTwinsSlow)];

    public static FaultSchedule Generate(int seed, TimeSpan length, IReadOnlyList<FaultKind> kinds)
    {
        if (kinds.Count == 0) throw new ArgumentException("no fault kinds", nameof(kinds));
        var random = new Random(seed);
        var faults = new List<Fault>();
        var lost = new HashSet<int>();          // shards with an engine gone for good
        // About one fault every 6 s, at least 4; the last starts early enough to heal before the run ends.
        var count = Math.Max(4, (int)(length.TotalSeconds / 6));
        var latestStart = length.TotalSeconds * 0.75;
        var starts = Enumerable.Range(0, count).Select(_ => 3 + random.NextDouble() * (latestStart - 3)).Order().ToList();
        foreach (var start in starts)
        {
            var kind = kinds[random.Next(kinds.Count)];
            var side = random.Next(2) == 0 ? Side.Primary : Side.Slave;
            var shard = random.Next(Shards);
            var duration = Duration(kind, random);
            var at = TimeSpan.FromSeconds(Math.Round(start, 1));
            var fault = new Fault(faults.Count, kind, at, duration, side, shard);
            if (fault.OnEngine && (lost.Count > 0 || Overlaps(faults, fault))) continue; // keep one serving side; after a loss for good, the respread is enough
            if (kind is FaultKind.DeclarePermanent or FaultKind.EngineWipe) lost.Add(shard);
            faults.Add(fault with { Index = faults.Count });
        }
        return new FaultSchedule(seed, length, kinds, faults);
    }

    /// <summary>An engine fault overlapping one on the twin (or on both) would take the shard's last serving side.</summary>
    private static bool Overlaps(List<Fault> faults, Fault candidate) =>
        faults.Any(f => f.OnEngine && f.Shard == candidate.Shard
                        && (f.TakesBothTwins || candidate.TakesBothTwins || f.Side != candidate.Side || f.Kind is FaultKind.DeclarePermanent or FaultKind.EngineWipe)
                        && f.At < candidate.Heals + TwinMargin && candidate.At < f.Heals + TwinMargin);

    /// <summary>
    /// After an engine fault heals the engine is still failed until its repair, which copies its dirty set from the
    /// twin: keep the twin alone meanwhile. The same for every engine fault: error replies (MaxMemory) fail the engine
    /// at once, and a pause or a sleep longer than the serve's 800 ms command timeout fails it as a kill does (seed
    /// 1003: 5 s after a MaxMemory let the twin holding the dirty set be wiped — both twins lost, by the schedule).
    /// </summary>
    public static readonly TimeSpan TwinMargin = TimeSpan.FromSeconds(20);

    private static TimeSpan Duration(FaultKind kind, Random random) => TimeSpan.FromSeconds(Math.Round(kind switch
    {
        FaultKind.EngineKill or FaultKind.EngineWipe or FaultKind.BothTwinsKill => 1 + random.NextDouble() * 5,
        // The older copy lacks the writes of the last For seconds: the "lost last second", inside the
        // 3 s recent-write window the server adds to a failed engine's dirty set; more would be a loss by design.
        FaultKind.EngineRestartOld => 0.3 + random.NextDouble() * 1.2,
        FaultKind.EngineStop => 1 + random.NextDouble() * 5,
        FaultKind.ClientPause or FaultKind.BothTwinsSlow => 0.2 + random.NextDouble() * 2.5,
        FaultKind.DebugSleep => 0.2 + random.NextDouble() * 2.5,
        FaultKind.BothTwinsStop => 1 + random.NextDouble() * 4,
        FaultKind.AgentKill or FaultKind.TlogKill => 0.5 + random.NextDouble() * 3,
        FaultKind.MaxMemory => 1 + random.NextDouble() * 3,
        FaultKind.ServeKill or FaultKind.CollectorKill or FaultKind.ClusterStateKill or FaultKind.SchedulerKill => 0.5 + random.NextDouble() * 3,
        FaultKind.RabbitMqKill or FaultKind.EtcdKill => 1 + random.NextDouble() * 2,
        FaultKind.BusDuplicate => 0.5 + random.NextDouble() * 5,
        FaultKind.OwnerLeaseLapse => 0.5, // the revoke is instant; the server claims the vdisk again by itself
        FaultKind.DeclarePermanent => 2 + random.NextDouble() * 3,
        _ => 1,
    }, 1));

    /// <summary>
    /// The same schedule with only the faults of <paramref name="indexes"/> (their indexes kept, so a rerun's log
    /// names them as the full schedule did), each lasting <paramref name="scale"/> times as long, in a run of
    /// <paramref name="length"/> (default: unchanged): what shrinking tries, and what <c>--only</c> reruns.
    /// </summary>
    public FaultSchedule Only(IReadOnlyCollection<int> indexes, double scale = 1, TimeSpan? length = null) =>
        this with
        {
            Length = length ?? Length,
            Faults = Faults.Where(f => indexes.Contains(f.Index))
                .Select(f => f with { For = TimeSpan.FromSeconds(Math.Max(0.1, Math.Round(f.For.TotalSeconds * scale, 1))) }).ToList(),
        };

    /// <summary>The printed schedule: byte for byte the same for the same seed, kinds and length.</summary>
    public string Describe()
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"seed {Seed}, {Length.TotalSeconds:0} s, kinds {string.Join(',', Kinds)}: {Faults.Count} fault(s)");
        foreach (var fault in Faults) text.AppendLine("  " + fault);
        return text.ToString();
    }

    public static IReadOnlyList<FaultKind> ParseKinds(string? text) =>
        string.IsNullOrWhiteSpace(text) ? Survivable
        : text == "all" ? All
        : text == "every" ? Enum.GetValues<FaultKind>()
        : text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(k => Enum.Parse<FaultKind>(k, ignoreCase: true)).ToList();
}
