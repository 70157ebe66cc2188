using System.Collections.Concurrent;
using System.Net.Http.Json;
using MassTransit;
using ZeroDisk.Contracts;
using ZeroDisk.RepairScheduler.Restarts;
using ZeroDisk.Testing;

namespace ZeroDisk.RepairScheduler.Tests;

/// <summary>
/// Fault-check seed 7: an NBD server's exit was marked "acted on" in etcd before its restart command left the
/// scheduler (the command waited in the endpoint's in-memory outbox until the consumer returned). The scheduler was
/// killed in that gap; its successor found the claim done, ignored the redelivered exit, and the server stayed down.
/// Here the broker refuses the command (the agent's queue rejects every publish), which fails the send in the same
/// gap, deterministically: the exit must not count as acted on while the command has not left, and once the agent's
/// queue takes messages again the exit restarts the server, once.
/// </summary>
public class When_a_restart_command_cannot_be_delivered
{
    [Fact]
    public async Task Seed_7_the_exit_is_not_marked_acted_on_and_a_redelivery_restarts_the_server()
    {
        var node = TestNames.Unique("node");
        var agentQueue = AgentQueues.Name(node);
        await using var scheduler = await SchedulerFixture.StartAsync([], _ => { }, agentQueue);
        await RejectEveryPublishAsync(scheduler.Endpoints, agentQueue);

        var exited = ProcessExits.Of(node, ProcessRole.NbdServer, "vm1", 137, pid: 4242);
        await scheduler.Peer.Publish(exited);

        // The consumer claims the exit, the broker refuses the command, the bus retries: the claim comes and goes
        // as "pending", and is never "done" while the command has not left.
        var claimPrefix = $"{RestartClaims.KeyPrefix}{node}/";
        await Eventually.UntilAsync(async () => (await scheduler.Etcd.GetRangeValAsync(claimPrefix)).Count > 0, "the exit to be claimed", TimeSpan.FromSeconds(60));
        var seen = new List<string>();
        for (var watched = System.Diagnostics.Stopwatch.StartNew(); watched.Elapsed < TimeSpan.FromSeconds(8);)
        {
            seen.AddRange((await scheduler.Etcd.GetRangeValAsync(claimPrefix)).Values);
            await Task.Delay(50);
        }
        Assert.NotEmpty(seen);
        Assert.DoesNotContain(seen, v => v.Contains("done", StringComparison.Ordinal));

        // The agent's queue takes messages again; the same exit, reported again, restarts the server once.
        using (var http = RabbitMqManagement.Client(scheduler.Endpoints))
            (await http.DeleteAsync($"api/queues/%2F/{agentQueue}")).EnsureSuccessStatusCode();
        var restarts = new ConcurrentQueue<RestartNbdServer>();
        var agent = scheduler.Peer.ConnectReceiveEndpoint(agentQueue, e => e.Handler<RestartNbdServer>(c =>
        {
            restarts.Enqueue(c.Message);
            return Task.CompletedTask;
        }));
        await agent.Ready;
        await scheduler.Peer.Publish(exited);
        await Eventually.TrueAsync(() => !restarts.IsEmpty, TimeSpan.FromSeconds(30), "the restart command");
        await Task.Delay(1000);
        Assert.Equal(new RestartNbdServer { Node = node, ServerId = "vm1" }, Assert.Single(restarts));
        await agent.StopAsync();
    }

    /// <summary>The agent's exchange, bound to a queue that holds nothing and refuses what it cannot hold (publisher nack).</summary>
    private static async Task RejectEveryPublishAsync(InfrastructureEndpoints endpoints, string name)
    {
        using var http = RabbitMqManagement.Client(endpoints);
        (await http.PutAsJsonAsync($"api/exchanges/%2F/{name}", new { type = "fanout", durable = true })).EnsureSuccessStatusCode();
        (await http.PutAsJsonAsync($"api/queues/%2F/{name}", new Dictionary<string, object>
        {
            ["durable"] = true,
            ["arguments"] = new Dictionary<string, object> { ["x-max-length"] = 0, ["x-overflow"] = "reject-publish" },
        })).EnsureSuccessStatusCode();
        (await http.PostAsJsonAsync($"api/bindings/%2F/e/{name}/q/{name}", new { routing_key = "" })).EnsureSuccessStatusCode();
    }
}
