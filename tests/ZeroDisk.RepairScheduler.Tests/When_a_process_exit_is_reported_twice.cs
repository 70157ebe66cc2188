using System.Collections.Concurrent;
using MassTransit;
using ZeroDisk.Contracts;
using ZeroDisk.RepairScheduler.Restarts;
using ZeroDisk.Testing;

namespace ZeroDisk.RepairScheduler.Tests;

/// <summary>
/// The collector is at-least-once, and an agent may report one exit twice. Each exit restarts its
/// process once (one RestartNbdServer: the agent runs the VM hook after it, so the VM hook once too) and feeds the
/// crash-loop throttle once; the record of it is in etcd, not in the scheduler's memory.
/// </summary>
public class When_a_process_exit_is_reported_twice
{
    [Fact]
    public async Task A_redelivered_line_and_a_repeated_report_each_restart_once()
    {
        var node = TestNames.Unique("node");
        var commands = new ConcurrentQueue<object>();
        var throttled = new ConcurrentQueue<RestartThrottled>();
        var throttledQueue = TestNames.Unique("rs-capture-throttled");
        await using var scheduler = await SchedulerFixture.StartAsync(new() { ["ImmediateRestarts"] = "2", ["RestartBackoff"] = "00:05:00" }, cfg =>
        {
            cfg.ReceiveEndpoint(AgentQueues.Name(node), e =>
            {
                e.Handler<RestartNbdServer>(c => { commands.Enqueue(c.Message); return Task.CompletedTask; });
                e.Handler<RestartVm>(c => { commands.Enqueue(c.Message); return Task.CompletedTask; });
            });
            SchedulerFixture.Capture<RestartThrottled>(cfg, throttledQueue, m => { if (m.Node == node) throttled.Enqueue(m); });
        });

        // The same line redelivered: same MessageId (a seed line without pid: keyed by the MessageId).
        var line = Guid.NewGuid();
        await scheduler.Peer.Publish(ProcessExits.Of(node, ProcessRole.NbdServer, "vm1", 137, null), c => c.MessageId = line);
        await scheduler.Peer.Publish(ProcessExits.Of(node, ProcessRole.NbdServer, "vm1", 137, null), c => c.MessageId = line);
        // One exit reported twice (e.g. by an agent restarted before it removed its record): other MessageIds, same pid and start time.
        await scheduler.Peer.Publish(ProcessExits.Of(node, ProcessRole.NbdServer, "vm2", 137, 4242), c => c.MessageId = Guid.NewGuid());
        await scheduler.Peer.Publish(ProcessExits.Of(node, ProcessRole.NbdServer, "vm2", 137, 4242), c => c.MessageId = Guid.NewGuid());

        await Eventually.TrueAsync(() => commands.Count >= 2, TimeSpan.FromSeconds(30), "two restart commands");
        await Task.Delay(2000);
        Assert.Equal(2, commands.Count);
        Assert.Contains(new RestartNbdServer { Node = node, ServerId = "vm1" }, commands);
        Assert.Contains(new RestartNbdServer { Node = node, ServerId = "vm2" }, commands);
        Assert.DoesNotContain(commands, c => c is RestartVm);

        // The throttle was fed once per exit: two more genuine exits of vm2 are crash 2 (immediate) and crash 3 (throttled), not 3 and 4.
        await scheduler.Peer.Publish(ProcessExits.Of(node, ProcessRole.NbdServer, "vm2", 137, 4243));
        await scheduler.Peer.Publish(ProcessExits.Of(node, ProcessRole.NbdServer, "vm2", 137, 4244));
        await Eventually.TrueAsync(() => !throttled.IsEmpty, TimeSpan.FromSeconds(30), "a throttled restart");
        Assert.Equal(3, commands.Count);
        Assert.Equal(3, Assert.Single(throttled).CrashesInARow);

        // The records are durable, in etcd: three restarts sent, the throttled one waiting out its backoff (not done yet).
        var records = await scheduler.Etcd.GetRangeValAsync($"{RestartClaims.KeyPrefix}{node}/");
        Assert.Equal(4, records.Count);
        Assert.Equal(3, records.Values.Count(v => v.Contains("\"done\"", StringComparison.Ordinal)));
        Assert.Single(records.Values, v => v.Contains("\"delayed\"", StringComparison.Ordinal));
    }

}
