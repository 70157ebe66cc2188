using System.Collections.Concurrent;
using System.Net.Http.Json;
using MassTransit;
using ZeroDisk.Contracts;
using ZeroDisk.RepairScheduler.Restarts;
using ZeroDisk.Testing;

namespace ZeroDisk.RepairScheduler.Tests;

/// <summary>
/// Fault-check seed 7: an NBD server's exit was marked "acted on" in etcd before its restart command left the
/// scheduler; the redelivered exit was then ignored and the server stayed down. A command the broker does not take
/// must leave the exit not acted on, in a defined state: the report ends in the scheduler's error queue with no claim
/// held, and a later report of the same exit restarts the server, once. Two ways a command does not arrive: the
/// agent's queue refuses it (a publisher nack, which MassTransit retried inside Send for hours while the consumer held
/// its claim: the merged tree's timeout), and no queue is bound to the agent's exchange (the broker dropped the
/// command and confirmed it: the claim said done, the restart was lost).
/// </summary>
public class When_a_restart_command_cannot_be_delivered
{
    private static readonly Dictionary<string, string?> ShortSend = new() { ["RestartSendTimeout"] = "00:00:02" };

    [Fact]
    public async Task Seed_7_a_refused_command_leaves_the_exit_not_acted_on_and_a_later_report_restarts_the_server()
    {
        var node = TestNames.Unique("node");
        var agentQueue = AgentQueues.Name(node);
        await using var scheduler = await SchedulerFixture.StartAsync(ShortSend, _ => { });
        await RejectEveryPublishAsync(scheduler, agentQueue);

        await NotActedOnAsync(scheduler, node, claimSeen: true);
        await RestartedOnceByALaterReportAsync(scheduler, node);
    }

    [Fact]
    public async Task Seed_7_a_command_nobody_can_receive_leaves_the_exit_not_acted_on_and_a_later_report_restarts_the_server()
    {
        var node = TestNames.Unique("node");
        var agentQueue = AgentQueues.Name(node);
        // No agent has ever run on this node: its exchange has no queue (the scheduler's send declares the exchange).
        await using var scheduler = await SchedulerFixture.StartAsync(ShortSend, _ => { });

        await NotActedOnAsync(scheduler, node, claimSeen: false); // the broker returns the command at once: a claim of milliseconds
        await RestartedOnceByALaterReportAsync(scheduler, node);
    }

    private static ProcessExited Exit(string node) => ProcessExits.Of(node, ProcessRole.NbdServer, "vm1", 137, pid: 4242);

    /// <summary>The report is tried and retried, its claim never "done", and it ends in the error queue with no claim left.</summary>
    private static async Task NotActedOnAsync(SchedulerFixture scheduler, string node, bool claimSeen)
    {
        var claims = $"{RestartClaims.KeyPrefix}{node}/";
        var errors = scheduler.ErrorQueue("process-exited");
        await scheduler.Peer.Publish(Exit(node));
        var seen = new List<string>();
        await Eventually.UntilAsync(async () =>
        {
            seen.AddRange((await scheduler.Etcd.GetRangeValAsync(claims)).Values);
            return await scheduler.MessagesInAsync(errors) > 0;
        }, "the exit report in the scheduler's error queue", TimeSpan.FromSeconds(120), TimeSpan.FromMilliseconds(100));
        if (claimSeen) Assert.NotEmpty(seen); // it was claimed (each attempt waits 2 s for the broker), ...
        Assert.DoesNotContain(seen, v => v.Contains("done", StringComparison.Ordinal)); // ... never acted on, ...
        Assert.Empty(await scheduler.Etcd.GetRangeValAsync(claims)); // ... and given up
    }

    /// <summary>The agent's queue takes messages again; the same exit, reported again, restarts the server once.</summary>
    private static async Task RestartedOnceByALaterReportAsync(SchedulerFixture scheduler, string node)
    {
        var agentQueue = AgentQueues.Name(node);
        using (var http = RabbitMqManagement.Client(scheduler.Endpoints))
            await http.DeleteAsync($"api/queues/{scheduler.VirtualHost}/{agentQueue}");
        var restarts = new ConcurrentQueue<RestartNbdServer>();
        var agent = scheduler.Peer.ConnectReceiveEndpoint(agentQueue, e => e.Handler<RestartNbdServer>(c =>
        {
            restarts.Enqueue(c.Message);
            return Task.CompletedTask;
        }));
        await agent.Ready;
        await scheduler.Peer.Publish(Exit(node));
        await Eventually.TrueAsync(() => !restarts.IsEmpty, TimeSpan.FromSeconds(60), "the restart command");
        await Task.Delay(1000);
        Assert.Equal(new RestartNbdServer { Node = node, ServerId = "vm1" }, Assert.Single(restarts));
        Assert.Contains("done", Assert.Single((await scheduler.Etcd.GetRangeValAsync($"{RestartClaims.KeyPrefix}{node}/")).Values), StringComparison.Ordinal);
        await agent.StopAsync();
    }

    /// <summary>The agent's exchange, bound to a queue that holds nothing and refuses what it cannot hold (publisher nack).</summary>
    private static async Task RejectEveryPublishAsync(SchedulerFixture scheduler, string name)
    {
        using var http = RabbitMqManagement.Client(scheduler.Endpoints);
        var vhost = scheduler.VirtualHost;
        (await http.PutAsJsonAsync($"api/exchanges/{vhost}/{name}", new { type = "fanout", durable = true })).EnsureSuccessStatusCode();
        (await http.PutAsJsonAsync($"api/queues/{vhost}/{name}", new Dictionary<string, object>
        {
            ["durable"] = true,
            ["arguments"] = new Dictionary<string, object> { ["x-max-length"] = 0, ["x-overflow"] = "reject-publish" },
        })).EnsureSuccessStatusCode();
        (await http.PostAsJsonAsync($"api/bindings/{vhost}/e/{name}/q/{name}", new { routing_key = "" })).EnsureSuccessStatusCode();
    }
}
