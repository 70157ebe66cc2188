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

    [Fact]
    public void One_exit_handled_again_counts_once()
    {
        // Its restart command failed and the bus retried the report five times: still one crash, restarted at once.
        var throttle = new CrashLoopThrottle(new SchedulerOptions { ImmediateRestarts = 2, RestartBackoff = TimeSpan.FromSeconds(1) }, new FakeTimeProvider());
        for (var attempt = 0; attempt < 6; attempt++)
            Assert.Equal((1, TimeSpan.Zero), throttle.OnCrash("n/nbdserver/vm1", "exit-4242-0"));
        Assert.Equal((2, TimeSpan.Zero), throttle.OnCrash("n/nbdserver/vm1", "exit-4343-0"));
        Assert.Equal(3, throttle.OnCrash("n/nbdserver/vm1", "exit-4444-0").CrashesInARow);
        Assert.Equal(3, throttle.OnCrash("n/nbdserver/vm1", "exit-4444-0").CrashesInARow);
    }
}
