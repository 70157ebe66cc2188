using MassTransit;
using System.Collections.Concurrent;
using ZeroDisk.Contracts;
using ZeroDisk.Testing;

namespace ZeroDisk.RepairScheduler.Tests;

public class When_a_process_crashes
{
    [Fact]
    public async Task Nbd_servers_and_tlog_servers_are_restarted_once_and_clean_exits_not_at_all()
    {
        var node = TestNames.Unique("node");
        var commands = new ConcurrentQueue<object>();
        await using var scheduler = await SchedulerFixture.StartAsync([], cfg => cfg.ReceiveEndpoint(AgentQueues.Name(node), e =>
        {
            e.Handler<RestartNbdServer>(c => { commands.Enqueue(c.Message); return Task.CompletedTask; });
            e.Handler<RestartVm>(c => { commands.Enqueue(c.Message); return Task.CompletedTask; });
            e.Handler<RestartTlogServer>(c => { commands.Enqueue(c.Message); return Task.CompletedTask; });
        }));

        await scheduler.Peer.Publish(ProcessExits.Of(node, ProcessRole.NbdServer, "vm1", 137));
        await scheduler.Peer.Publish(ProcessExits.Of(node, ProcessRole.TlogServer, "tlog1", 139));
        await scheduler.Peer.Publish(ProcessExits.Of(node, ProcessRole.NbdServer, "vm2", 0));

        await Eventually.TrueAsync(() => commands.Count >= 2, TimeSpan.FromSeconds(20), "restart commands");
        await Task.Delay(1000);
        Assert.Equal(2, commands.Count); // the agent runs the VM hook after the restart: no separate RestartVm
        Assert.Contains(new RestartNbdServer { Node = node, ServerId = "vm1" }, commands);
        Assert.Contains(new RestartTlogServer { Node = node, ServerId = "tlog1" }, commands);
    }

    [Fact]
    public async Task A_process_that_crashes_ten_times_in_a_row_is_throttled_and_reported()
    {
        var node = TestNames.Unique("node");
        var restarts = new ConcurrentQueue<RestartTlogServer>();
        var throttled = new ConcurrentQueue<RestartThrottled>();
        var throttledQueue = TestNames.Unique("rs-capture-throttled");
        await using var scheduler = await SchedulerFixture.StartAsync(
            new() { ["ImmediateRestarts"] = "3", ["RestartBackoff"] = "00:00:30" },
            cfg =>
            {
                SchedulerFixture.Capture<RestartTlogServer>(cfg, AgentQueues.Name(node), restarts.Enqueue);
                SchedulerFixture.Capture<RestartThrottled>(cfg, throttledQueue, m => { if (m.Node == node) throttled.Enqueue(m); });
            });

        for (var i = 0; i < 10; i++)
            await scheduler.Peer.Publish(ProcessExits.Of(node, ProcessRole.TlogServer, "tlog-flaky", 139));

        await Eventually.TrueAsync(() => throttled.Count >= 7, TimeSpan.FromSeconds(20), "seven throttled restarts");
        await Task.Delay(1000);
        Assert.Equal(3, restarts.Count);
        Assert.Equal(10, throttled.Max(t => t.CrashesInARow));
        Assert.True(throttled.Max(t => t.Delay) >= TimeSpan.FromMinutes(5) - TimeSpan.FromSeconds(1), "backoff grows to its cap");
    }

}
