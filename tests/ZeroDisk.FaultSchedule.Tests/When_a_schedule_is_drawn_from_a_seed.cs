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

    [Fact]
    public void Every_kind_is_drawn_when_all_are_asked_for()
    {
        var drawn = Enumerable.Range(0, 300).SelectMany(s => FaultCheck.FaultSchedule.Generate(s, TimeSpan.FromMinutes(2), Enum.GetValues<FaultKind>()).Faults).Select(f => f.Kind).ToHashSet();
        Assert.Equal(Enum.GetValues<FaultKind>().ToHashSet(), drawn);
    }
}
