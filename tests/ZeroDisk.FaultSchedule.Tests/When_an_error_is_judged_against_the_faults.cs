using ZeroDisk.FaultCheck;

namespace ZeroDisk.FaultSchedule.Tests;

/// <summary>
/// An NBD error is allowed only while no side of its shard could serve, and for a grace after the fault really healed.
/// Seed 7002's schedule: both twins of shard 0 killed at 34.4 s for 4.4 s (restarted by 40.8 s), RabbitMQ killed at
/// 17.0 s and back only at 46.3 s; one write to shard 0 failed at 60.3 s, before the repair after the twins (which
/// waited for the broker) brought a side online.
/// </summary>
public class When_an_error_is_judged_against_the_faults
{
    private static readonly Fault BothTwins = new(8, FaultKind.BothTwinsKill, S(34.4), S(4.4), Side.Primary, 0);
    private static readonly Fault Broker = new(6, FaultKind.RabbitMqKill, S(17.0), S(1.5), Side.Primary, 0);

    private static TimeSpan S(double seconds) => TimeSpan.FromSeconds(seconds);

    private static bool Excused(int shard, IReadOnlyList<Fault> faults, Dictionary<int, TimeSpan> healed) =>
        new ErrorExcuses(faults, healed).Excuse(shard, S(60.275), S(60.546));

    [Fact]
    public void Past_the_grace_after_the_scheduled_heal_it_is_a_violation()
    {
        Assert.False(Excused(0, [BothTwins], []));
    }

    [Fact]
    public void The_grace_runs_from_when_the_twins_really_came_back()
    {
        Assert.True(Excused(0, [BothTwins], new() { [8] = S(40.8) }));
    }

    [Fact]
    public void A_broker_outage_as_the_twins_come_back_delays_their_repair_and_so_the_grace()
    {
        Assert.True(Excused(0, [BothTwins, Broker], new() { [8] = S(38.8), [6] = S(46.3) }));
        Assert.False(Excused(0, [BothTwins, Broker], new() { [8] = S(38.8), [6] = S(18.5) }), "a broker back long before the twins delays nothing");
    }

    [Fact]
    public void A_broker_outage_alone_excuses_no_error_of_a_shard_that_had_a_side()
    {
        Assert.False(Excused(1, [BothTwins, Broker], new() { [8] = S(40.8), [6] = S(46.3) }));
    }
}
