using ZeroDisk.ClusterState.Operability;
using ZeroDisk.ServiceDefaults.Security;

namespace ZeroDisk.ClusterState.Tests.Operability;

/// <summary>The verdict's pure logic: severities, check names, progress wording; the repair rate; URI masking.</summary>
public sealed class HealthAssessmentTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 6, 2, 0, 0, TimeSpan.Zero);

    private static EngineObservation Engine(string address, EngineState state, long? dirty = 0, string? unavailable = null) =>
        new(address, "c1", 0, state, Now.AddMinutes(-2), state == EngineState.Online ? null : "inc-1", dirty, dirty * 4096, unavailable, false);

    [Fact]
    public void A_quiet_deployment_is_HEALTH_OK()
    {
        var verdict = HealthAssessment.Assess(new ClusterObservation(Now, [Engine("a:1", EngineState.Online), Engine("b:1", EngineState.Online)],
            [new ShardObservation("c1", "c2", 0, ["a:1", "b:1"], 2, 2)], [], [new ErrorQueueObservation("x_error", 0)], 1), null, Now);
        Assert.Equal((HealthAssessment.Ok, 0), (verdict.Status, verdict.Checks.Count));
    }

    [Fact]
    public void An_offline_engine_warns_and_a_shard_without_a_serving_side_is_an_error_listed_first()
    {
        var degraded = HealthAssessment.Assess(new ClusterObservation(Now, [Engine("a:1", EngineState.Offline, dirty: 7), Engine("b:1", EngineState.Online)],
            [new ShardObservation("c1", "c2", 0, ["a:1", "b:1"], 1, 2)], [], [new ErrorQueueObservation("x_error", 2)], 1), null, Now);
        Assert.Equal(HealthAssessment.Warn, degraded.Status);
        Assert.Equal([HealthAssessment.EngineOffline, HealthAssessment.ShardDegraded, HealthAssessment.DirtyBlocks, HealthAssessment.ErrorQueue],
            degraded.Checks.Select(c => c.Check));
        Assert.All(degraded.Checks, c => Assert.False(string.IsNullOrWhiteSpace(c.Action)));

        var lost = HealthAssessment.Assess(new ClusterObservation(Now, [Engine("a:1", EngineState.Offline), Engine("b:1", EngineState.Offline)],
            [new ShardObservation("c1", "c2", 0, ["a:1", "b:1"], 0, 2)], [], null, 1), null, Now);
        Assert.Equal(HealthAssessment.Err, lost.Status);
        Assert.Equal(HealthAssessment.ShardUnavailable, lost.Checks[0].Check);
    }

    [Fact]
    public void No_observation_is_an_error_not_a_clean_bill()
    {
        var verdict = HealthAssessment.Assess(null, "RpcException: etcd unreachable", Now);
        Assert.Equal((HealthAssessment.Err, HealthAssessment.ObservationFailed), (verdict.Status, verdict.Checks[0].Check));
    }

    [Fact]
    public void The_rate_comes_from_the_window_and_the_total_is_the_most_seen()
    {
        var rates = new RepairRateTracker();
        Assert.Equal((300L, (double?)null), rates.Observe("i", Now, 300));
        var (total, rate) = rates.Observe("i", Now.AddSeconds(10), 200);
        Assert.Equal(300, total);
        Assert.Equal(10, rate!.Value, 3);
        rates.Retain(new HashSet<string>());
        Assert.Equal((50L, (double?)null), rates.Observe("i", Now.AddSeconds(20), 50));
    }

    [Theory]
    [InlineData("amqp://zerodisk:s3cret@rabbit:5672/zd", "amqp://zerodisk:***@rabbit:5672/zd")]
    [InlineData("cannot reach amqp://u:p@h/ and http://x:y@e:2379", "cannot reach amqp://u:***@h/ and http://x:***@e:2379")]
    [InlineData("amqp://guest@h/", "amqp://guest@h/")]
    [InlineData("http://127.0.0.1:5080/status", "http://127.0.0.1:5080/status")]
    public void Uri_passwords_are_masked(string text, string masked) => Assert.Equal(masked, SecretMasking.MaskUris(text));
}
