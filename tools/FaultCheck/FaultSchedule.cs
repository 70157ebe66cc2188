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
}

public enum Side { Primary, Slave }

/// <summary>One timed fault: starts at <see cref="At"/>, heals after <see cref="For"/> (a kill's downtime, a pause's length).</summary>
public sealed record Fault(int Index, FaultKind Kind, TimeSpan At, TimeSpan For, Side Side, int Shard)
{
    public TimeSpan Heals => At + For;

    /// <summary>True when the fault touches a storage engine (which side and shard matter).</summary>
    public bool OnEngine => Kind is FaultKind.EngineKill or FaultKind.EngineStop or FaultKind.ClientPause or FaultKind.EngineRestartOld
        or FaultKind.EngineWipe or FaultKind.MaxMemory or FaultKind.BothTwinsKill or FaultKind.DeclarePermanent;

    /// <summary>Both twins of the shard are unavailable while it lasts: EIO is expected then, not data.</summary>
    public bool TakesBothTwins => Kind == FaultKind.BothTwinsKill;

    public override string ToString()
    {
        var where = Kind == FaultKind.BothTwinsKill ? $" shard {Shard} (both twins)"
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
                        && f.At < candidate.Heals + Settle(f) && candidate.At < f.Heals + Settle(f));

    /// <summary>After an engine comes back it is still failed until its repair: keep the twin alone meanwhile.</summary>
    private static TimeSpan Settle(Fault f) => f.Kind is FaultKind.ClientPause or FaultKind.MaxMemory ? TimeSpan.FromSeconds(5) : TimeSpan.FromSeconds(20);

    private static TimeSpan Duration(FaultKind kind, Random random) => TimeSpan.FromSeconds(Math.Round(kind switch
    {
        FaultKind.EngineKill or FaultKind.EngineRestartOld or FaultKind.EngineWipe or FaultKind.BothTwinsKill => 1 + random.NextDouble() * 5,
        FaultKind.EngineStop => 1 + random.NextDouble() * 5,
        FaultKind.ClientPause => 0.2 + random.NextDouble() * 2.5,
        FaultKind.MaxMemory => 1 + random.NextDouble() * 3,
        FaultKind.ServeKill or FaultKind.CollectorKill or FaultKind.ClusterStateKill or FaultKind.SchedulerKill => 0.5 + random.NextDouble() * 3,
        FaultKind.RabbitMqKill or FaultKind.EtcdKill => 1 + random.NextDouble() * 2,
        FaultKind.BusDuplicate => 0.5 + random.NextDouble() * 5,
        FaultKind.DeclarePermanent => 2 + random.NextDouble() * 3,
        _ => 1,
    }, 1));

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
        : text == "all" ? Enum.GetValues<FaultKind>()
        : text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(k => Enum.Parse<FaultKind>(k, ignoreCase: true)).ToList();
}
