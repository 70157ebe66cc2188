using System.Collections.Concurrent;
using ZeroDisk.Contracts;
using ZeroDisk.RepairScheduler.Restarts;
using ZeroDisk.Testing;

namespace ZeroDisk.RepairScheduler.Tests;

/// <summary>
/// A restart waiting out a crash-loop backoff lived only in the scheduler's memory, and its exit was recorded in etcd
/// as acted on when the wait began: a scheduler killed during the backoff (the fault checker's SchedulerKill) left the
/// crashed server down for good, and every later report of that exit was ignored as a duplicate. The deferred restart
/// is now a record in etcd that the next scheduler sends, once.
/// </summary>
public class When_the_scheduler_dies_during_a_crash_loop_backoff
{
    [Fact]
    public async Task The_next_scheduler_sends_the_restart_once_and_a_repeated_report_adds_none()
    {
        var node = TestNames.Unique("node");
        var agentQueue = AgentQueues.Name(node);
        var restarts = new ConcurrentQueue<RestartNbdServer>();
        // Every crash waits 10 s: long enough to stop the first scheduler before its timer fires.
        await using var scheduler = await SchedulerFixture.StartAsync(new() { ["ImmediateRestarts"] = "0", ["RestartBackoff"] = "00:00:10" },
            cfg => SchedulerFixture.Capture<RestartNbdServer>(cfg, agentQueue, restarts.Enqueue));
        var claims = $"{RestartClaims.KeyPrefix}{node}/";
        var exit = ProcessExits.Of(node, ProcessRole.NbdServer, "vm1", 137, pid: 5151);

        await scheduler.Peer.Publish(exit);
        await Eventually.UntilAsync(async () => (await scheduler.Etcd.GetRangeValAsync(claims)).Values.Any(v => v.Contains("\"delayed\"", StringComparison.Ordinal)),
            "the restart recorded as delayed in etcd", TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(100));
        await scheduler.RestartSchedulerAsync();
        Assert.Empty(restarts); // the first scheduler died before its backoff ended: it sent nothing

        await scheduler.Peer.Publish(exit); // the same exit reported again while the restart waits: a duplicate
        await Eventually.TrueAsync(() => !restarts.IsEmpty, TimeSpan.FromSeconds(90), "the restart sent by the next scheduler");
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.Equal(new RestartNbdServer { Node = node, ServerId = "vm1" }, Assert.Single(restarts));
        Assert.Contains("\"done\"", Assert.Single((await scheduler.Etcd.GetRangeValAsync(claims)).Values), StringComparison.Ordinal);
    }
}
