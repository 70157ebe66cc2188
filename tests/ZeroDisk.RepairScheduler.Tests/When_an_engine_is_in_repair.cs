using System.Collections.Concurrent;
using ZeroDisk.Contracts;
using ZeroDisk.ServiceDefaults.Etcd;
using ZeroDisk.Testing;

namespace ZeroDisk.RepairScheduler.Tests;

public class When_an_engine_is_in_repair
{
    [Fact]
    public async Task Vdisks_nobody_serves_are_dispatched_to_the_least_loaded_agent_and_again_when_the_job_dies()
    {
        var cluster = TestNames.Unique("cluster");
        var (busyNode, idleNode) = (TestNames.Unique("node-busy"), TestNames.Unique("node-idle"));
        var received = new ConcurrentQueue<(string Node, RepairVdisk Job)>();
        await using var scheduler = await SchedulerFixture.StartAsync(
            new() { ["RepairScanInterval"] = "00:00:00.3", ["DispatchTimeout"] = "00:00:03" },
            cfg =>
            {
                foreach (var node in new[] { busyNode, idleNode })
                    SchedulerFixture.Capture<RepairVdisk>(cfg, AgentQueues.Name(node), m => received.Enqueue((node, m)));
            });
        var etcd = scheduler.Etcd;
        var (idle, served, alsoIdle, elsewhere) = (TestNames.Unique("vd"), TestNames.Unique("vd"), TestNames.Unique("vd"), TestNames.Unique("vd"));
        await etcd.PutJsonAsync(EtcdKeys.VdiskNbdConfig(idle), new VdiskNbdConfig(cluster, cluster + "-slave"));
        await etcd.PutJsonAsync(EtcdKeys.VdiskNbdConfig(alsoIdle), new VdiskNbdConfig(cluster + "-other", cluster));
        await etcd.PutJsonAsync(EtcdKeys.VdiskNbdConfig(served), new VdiskNbdConfig(cluster, cluster + "-slave"));
        await etcd.PutJsonAsync(EtcdKeys.VdiskNbdConfig(elsewhere), new VdiskNbdConfig("unrelated-a", "unrelated-b"));
        await etcd.PutJsonAsync(EtcdKeys.VdiskOwner(served), new VdiskOwner("nbd-vm", VdiskOwnerKind.Vm, 1));
        // Other suites register real agents with loads >= 0 in the same etcd; negative loads keep ours first.
        await etcd.PutJsonAsync(EtcdKeys.Agent(busyNode), new AgentRegistration(busyNode, "127.0.0.1:1", -1.0, DateTimeOffset.UtcNow));
        await etcd.PutJsonAsync(EtcdKeys.Agent(idleNode), new AgentRegistration(idleNode, "127.0.0.1:2", -5.0, DateTimeOffset.UtcNow));
        try
        {
            await scheduler.Peer.Publish(new StorageEngineStateChanged
            {
                ClusterId = cluster, Address = "127.0.0.1:1", From = EngineState.Offline, To = EngineState.RepairTmpOutage, Incident = "inc-1", At = DateTimeOffset.UtcNow,
            });

            await Eventually.TrueAsync(() => received.Count >= 2, TimeSpan.FromSeconds(20), "two repair jobs dispatched");
            var first = received.ToArray();
            Assert.Equal(new[] { alsoIdle, idle }.Order(), first.Select(r => r.Job.VdiskId).Order());
            Assert.All(first, r => Assert.Equal((RepairKind.Tmp, "inc-1", "127.0.0.1:1"), (r.Job.Kind, r.Job.Incident, r.Job.Address)));
            Assert.Contains(first, r => r.Node == idleNode); // the least loaded agent gets work first
            Assert.DoesNotContain(received, r => r.Job.VdiskId == served || r.Job.VdiskId == elsewhere);

            // One job takes its lease (owner key), the other never does: that one alone is dispatched again.
            await etcd.PutJsonAsync(EtcdKeys.VdiskOwner(idle), new VdiskOwner(idleNode, VdiskOwnerKind.Repair, 2));
            await Eventually.TrueAsync(() => received.Count(r => r.Job.VdiskId == alsoIdle) >= 2, TimeSpan.FromSeconds(20), "re-dispatch of the job that never started");
            Assert.Equal(1, received.Count(r => r.Job.VdiskId == idle));

            // A completion of another incident changes nothing; this incident's completion ends the dispatching.
            await scheduler.Peer.Publish(new VdiskRepairCompleted { Address = "127.0.0.1:1", VdiskId = alsoIdle, Kind = RepairKind.Tmp, Incident = "inc-0", Source = Source() });
            await Eventually.TrueAsync(() => received.Count(r => r.Job.VdiskId == alsoIdle) >= 3, TimeSpan.FromSeconds(20), "stale completion ignored");
            await scheduler.Peer.Publish(new VdiskRepairCompleted { Address = "127.0.0.1:1", VdiskId = alsoIdle, Kind = RepairKind.Tmp, Incident = "inc-1", Source = Source() });
            await Task.Delay(1000);
            var settled = received.Count(r => r.Job.VdiskId == alsoIdle);
            await Task.Delay(4000);
            Assert.Equal(settled, received.Count(r => r.Job.VdiskId == alsoIdle));
        }
        finally
        {
            foreach (var key in new[] { EtcdKeys.Agent(busyNode), EtcdKeys.Agent(idleNode) }) await etcd.DeleteAsync(key);
        }
    }

    private static EventSource Source() => new() { Node = "n", Stream = "s", ObservedAt = DateTimeOffset.UtcNow };
}
