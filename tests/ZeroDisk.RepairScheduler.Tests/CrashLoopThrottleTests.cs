using Microsoft.Extensions.Time.Testing;
using ZeroDisk.RepairScheduler.Restarts;

namespace ZeroDisk.RepairScheduler.Tests;

public class CrashLoopThrottleTests
{
    [Fact]
    public void Backoff_doubles_after_the_immediate_restarts_and_resets_after_a_quiet_period()
    {
        var time = new FakeTimeProvider();
        var throttle = new CrashLoopThrottle(new SchedulerOptions { ImmediateRestarts = 2, RestartBackoff = TimeSpan.FromSeconds(1), MaxRestartBackoff = TimeSpan.FromSeconds(5), CrashCountReset = TimeSpan.FromMinutes(1) }, time);
        var delays = Enumerable.Range(0, 7).Select(_ => throttle.OnCrash("n/tlogserver/t").Delay.TotalSeconds).ToArray();
        Assert.Equal([0, 0, 1, 2, 4, 5, 5], delays);
        Assert.Equal((1, TimeSpan.Zero), throttle.OnCrash("n/tlogserver/other"));

        time.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal((1, TimeSpan.Zero), throttle.OnCrash("n/tlogserver/t"));
    }
}
