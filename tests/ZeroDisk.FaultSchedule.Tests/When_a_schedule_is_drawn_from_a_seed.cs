using ZeroDisk.FaultCheck;

namespace ZeroDisk.FaultSchedule.Tests;

/// <summary>The schedule is a pure function of the seed: a failing seed reproduces exactly (pure logic, no servers).</summary>
public class When_a_schedule_is_drawn_from_a_seed
{
    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);

    [Fact]
    public void The_same_seed_prints_the_same_schedule()
    {
        var all = Enum.GetValues<FaultKind>();
        for (var seed = 0; seed < 50; seed++)
            Assert.Equal(FaultCheck.FaultSchedule.Generate(seed, Minute, all).Describe(), FaultCheck.FaultSchedule.Generate(seed, Minute, all).Describe());
        Assert.NotEqual(FaultCheck.FaultSchedule.Generate(1, Minute, all).Describe(), FaultCheck.FaultSchedule.Generate(2, Minute, all).Describe());
    }

    [Fact]
    public void Faults_overlap_but_never_take_both_twins_unless_asked_and_heal_before_the_end()
    {
        var overlapping = 0;
        for (var seed = 0; seed < 200; seed++)
        {
            var schedule = FaultCheck.FaultSchedule.Generate(seed, Minute, FaultCheck.FaultSchedule.Survivable);
            Assert.True(schedule.Faults.Count >= 3, schedule.Describe());
            Assert.All(schedule.Faults, f => Assert.Contains(f.Kind, FaultCheck.FaultSchedule.Survivable));
            Assert.All(schedule.Faults, f => Assert.True(f.Heals < Minute, f.ToString()));
            var engine = schedule.Faults.Where(f => f.OnEngine).ToList();
            foreach (var a in engine)
                foreach (var b in engine.Where(b => b.Index > a.Index && b.Shard == a.Shard && b.Side != a.Side))
                    Assert.False(a.At < b.Heals && b.At < a.Heals, $"both twins of shard {a.Shard} down at once:\n{schedule.Describe()}");
            overlapping += schedule.Faults.Count(a => schedule.Faults.Any(b => b.Index != a.Index && a.At < b.Heals && b.At < a.Heals));
        }
        Assert.True(overlapping > 0, "no schedule had overlapping faults");
    }

    /// <summary>
    /// Seed 1003 (session 7): MaxMemory on primary shard 1 (7.9-10.8 s), then the slave twin wiped at 15.9 s — 5.1 s
    /// later, while the OOM-failed engine still waited for the repair that copies its dirty set from that twin: both
    /// twins lost by the schedule, not by the services. Every engine fault keeps the twin alone for the margin a kill
    /// gets (error replies and pauses past the serve's command timeout fail the engine just as a kill does).
    /// </summary>
    [Fact]
    public void Seed_1003_the_twin_of_an_engine_that_got_error_replies_is_left_alone_until_its_repair()
    {
        var all = FaultCheck.FaultSchedule.All;
        var seed1003 = FaultCheck.FaultSchedule.Generate(1003, Minute, all);
        var maxMemory = seed1003.Faults.Single(f => f.Kind == FaultKind.MaxMemory);
        Assert.DoesNotContain(seed1003.Faults, f => f.OnEngine && f.Shard == maxMemory.Shard && f.Side != maxMemory.Side
                                                    && f.At >= maxMemory.At && f.At < maxMemory.Heals + TimeSpan.FromSeconds(20));

        var checkedPairs = 0;
        for (var seed = 0; seed < 300; seed++)
        {
            var schedule = FaultCheck.FaultSchedule.Generate(seed, Minute, all);
            var engine = schedule.Faults.Where(f => f.OnEngine).ToList();
            foreach (var a in engine)
                foreach (var b in engine.Where(b => b.Index > a.Index && b.Shard == a.Shard && (b.Side != a.Side || a.TakesBothTwins || b.TakesBothTwins)))
                {
                    checkedPairs++;
                    Assert.True(b.At >= a.Heals + FaultCheck.FaultSchedule.TwinMargin,
                        $"seed {seed}: {b} starts {(b.At - a.Heals).TotalSeconds:0.0} s after {a} heals, before its repair margin:\n{schedule.Describe()}");
                }
        }
        Assert.True(checkedPairs > 0, "no schedule had faults on both twins of a shard");
        Assert.Equal(TimeSpan.FromSeconds(20), FaultCheck.FaultSchedule.TwinMargin);
    }

    /// <summary>'all' is frozen: seed 1000's regression test names it, and a kind added later must not change what it draws.</summary>
    [Fact]
    public void All_means_the_kinds_up_to_session_15_and_every_means_every_kind()
    {
        Assert.Equal(20, FaultCheck.FaultSchedule.ParseKinds("all").Count);
        Assert.DoesNotContain(FaultKind.OwnerLeaseLapse, FaultCheck.FaultSchedule.ParseKinds("all"));
        Assert.Equal(Enum.GetValues<FaultKind>(), FaultCheck.FaultSchedule.ParseKinds("every"));
        var seed1000 = FaultCheck.FaultSchedule.Generate(1000, TimeSpan.FromSeconds(60), FaultCheck.FaultSchedule.ParseKinds("all")).Only([1, 2]);
        Assert.Equal([FaultKind.DeclarePermanent, FaultKind.EtcdKill], seed1000.Faults.Select(f => f.Kind));
    }

    [Fact]
    public void Every_kind_is_drawn_when_all_are_asked_for()
    {
        var drawn = Enumerable.Range(0, 300).SelectMany(s => FaultCheck.FaultSchedule.Generate(s, TimeSpan.FromMinutes(2), Enum.GetValues<FaultKind>()).Faults).Select(f => f.Kind).ToHashSet();
        Assert.Equal(Enum.GetValues<FaultKind>().ToHashSet(), drawn);
    }
}

/// <summary>Shrinking's output: a rerun of a subset of a schedule's faults (pure logic, no servers).</summary>
public class When_a_schedule_is_shrunk
{
    [Fact]
    public void Only_keeps_the_named_faults_as_they_were_drawn_and_scales_their_length()
    {
        var all = Enum.GetValues<FaultKind>();
        var full = FaultCheck.FaultSchedule.Generate(3, TimeSpan.FromMinutes(1), all);
        Assert.True(full.Faults.Count >= 3, full.Describe());
        var kept = new[] { full.Faults[0].Index, full.Faults[2].Index };
        var shrunk = full.Only(kept, 0.5, TimeSpan.FromSeconds(30));
        Assert.Equal(kept, shrunk.Faults.Select(f => f.Index));
        Assert.All(shrunk.Faults, f =>
        {
            var original = full.Faults.Single(o => o.Index == f.Index);
            Assert.Equal((original.Kind, original.At, original.Side, original.Shard), (f.Kind, f.At, f.Side, f.Shard));
            Assert.Equal(Math.Max(0.1, Math.Round(original.For.TotalSeconds * 0.5, 1)), f.For.TotalSeconds, 3);
        });
        Assert.Equal(TimeSpan.FromSeconds(30), shrunk.Length);
        // A rerun with --only draws the same full schedule from the seed first: the subset is the same every time.
        Assert.Equal(shrunk.Describe(), FaultCheck.FaultSchedule.Generate(3, TimeSpan.FromMinutes(1), all).Only(kept, 0.5, TimeSpan.FromSeconds(30)).Describe());
    }

    [Fact]
    public void A_restart_from_an_older_copy_loses_less_than_the_recent_write_window()
    {
        var restarts = Enumerable.Range(0, 300).SelectMany(s => FaultCheck.FaultSchedule.Generate(s, TimeSpan.FromMinutes(1), [FaultKind.EngineRestartOld, FaultKind.ServeKill]).Faults)
            .Where(f => f.Kind == FaultKind.EngineRestartOld).ToList();
        Assert.NotEmpty(restarts);
        Assert.All(restarts, f => Assert.InRange(f.For.TotalSeconds, 0.3, 1.5));
    }

    [Theory]
    [InlineData("the system did not settle within 180 s after the last fault healed", "not settled")]
    [InlineData("fc1-vd0: primary and slave differ in 3 block(s), first block 1", "twins differ")]
    [InlineData("vd0 block 4 sector 0: read older data: op 12, overwritten by an acknowledged later operation; allowed op 15", "block data")]
    [InlineData("EIO while shard 1 had a serving side: op 3", "EIO with a serving side")]
    [InlineData("fio: crc32c verify failed in fio chunk 2", "fio")]
    public void A_shrunk_schedule_must_fail_the_same_way(string what, string category) =>
        Assert.Equal(category, Shrinker.Category(new Violation(what, [])));
}
