using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using ZeroDisk.Contracts;
using ZeroDisk.RepairScheduler.Work;
using ZeroDisk.Testing;

namespace ZeroDisk.RepairScheduler.Tests;

/// <summary>
/// Fault-check seed 1000: etcd SIGKILLed for ~20 s, and the scheduler's consumers
/// (repair completions, engine transitions) spent their endpoint's quick retries in ~5 s and faulted into their error
/// queues; the campaign never learnt that a vdisk was repaired, and its repair saga stayed Running. Every endpoint now
/// waits for etcd (ServiceDefaults' EtcdUnavailableRetry, the one ClusterState's sagas use): here on an etcd of the
/// test's own, stopped while a completion is delivered twice (the same message redelivered), and started again.
/// </summary>
public class When_etcd_is_down_while_the_scheduler_consumes
{
    [Fact]
    public async Task Seed_1000_a_repair_completion_waits_for_etcd_and_is_recorded_once()
    {
        await using var etcd = await EtcdClusterProcess.StartAsync(members: 1);
        await using var scheduler = await SchedulerFixture.StartOnEtcdAsync(etcd.Endpoints, [], _ => { });
        var work = scheduler.Services.GetRequiredService<SchedulerWorkStore>();
        // The scheduler's start-up pass over recorded work is over (it would find the campaign below stale and delete it).
        await scheduler.Services.GetServices<IHostedService>().OfType<WorkResumer>().Single().ExecuteTask!.WaitAsync(TimeSpan.FromSeconds(60));
        var (engine, incident, vdisk) = ($"127.0.0.1:{Random.Shared.Next(1, 1000)}", TestNames.Unique("inc"), TestNames.Unique("vd"));
        var now = DateTimeOffset.UtcNow;
        // A campaign as recorded when its engine went into repair (recorded only: nothing to dispatch here).
        await work.RecordAsync(WorkKind.Campaign, new StorageEngineStateChanged
        {
            ClusterId = TestNames.Unique("cluster"), Address = engine, From = EngineState.Offline, To = EngineState.RepairFinalOutage, Incident = incident, At = now,
        }, traceParent: null, now, CancellationToken.None);

        await etcd.KillAsync(0);
        var completed = new VdiskRepairCompleted
        {
            Address = engine, VdiskId = vdisk, Kind = RepairKind.Final, Incident = incident,
            Source = new EventSource { Node = "node", Stream = "nbdserver-vm1.log", ObservedAt = now },
        };
        var line = Guid.NewGuid();
        await scheduler.Peer.Publish(completed, c => c.MessageId = line);
        await scheduler.Peer.Publish(completed, c => c.MessageId = line);
        // Three times the endpoint's quick retries: a message that did not wait for etcd is in the error queue by now.
        await Task.Delay(TimeSpan.FromSeconds(15));
        var errors = scheduler.ErrorQueue("vdisk-repair-completed");
        Assert.Equal(0, await scheduler.MessagesInAsync(errors));

        await etcd.StartAgainAsync(0);
        var record = await Eventually.ValueAsync(async () =>
        {
            try { return await work.GetAsync(WorkKind.Campaign, engine, CancellationToken.None); }
            catch (Grpc.Core.RpcException) { return null; } // the test's own client reconnecting
        }, r => r?.Completed.Contains(vdisk) == true, TimeSpan.FromSeconds(90), TimeSpan.FromMilliseconds(500), "the completion recorded");
        Assert.Equal([vdisk], record!.Completed);
        await Task.Delay(TimeSpan.FromSeconds(6)); // the management API's counts lag by ~5 s
        Assert.Equal(0, await scheduler.MessagesInAsync(errors));
        Assert.Equal([vdisk], (await work.GetAsync(WorkKind.Campaign, engine, CancellationToken.None))!.Completed);
    }
}
