using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using ZeroDisk.Contracts;
using ZeroDisk.RepairScheduler.Work;
using ZeroDisk.ServiceDefaults.Etcd;
using ZeroDisk.Testing;

namespace ZeroDisk.RepairScheduler.Tests;

/// <summary>
/// Fault-check seed 1000: an engine killed for good and declared permanent 1.5 s after it went offline,
/// then etcd SIGKILLed. The scheduler consumed the offline and the repair-final-outage transitions at once; the
/// offline one, older but finishing last, stopped the campaign the newer one had just recorded (deleted its record),
/// and the campaign idled from then on: the vdisk nobody served was never respread, the engine never became rip
/// (not settled in 180 s, `open repairs: …-vd2@…:Running`). Now an older transition stops nothing a newer one
/// started, and a campaign whose record vanished while its engine is still in repair records it again.
/// </summary>
public class When_two_transitions_of_an_engine_race
{
    [Fact]
    public async Task Seed_1000_an_older_transition_consumed_last_leaves_the_newer_campaign_running()
    {
        await using var run = await CampaignRun.StartAsync();
        var offlineAt = DateTimeOffset.UtcNow;
        await run.PublishAsync(EngineState.RepairFinalOutage, offlineAt.AddSeconds(1.5));
        await Eventually.TrueAsync(() => run.Dispatches >= 1, TimeSpan.FromSeconds(30), "the respread of the vdisk nobody serves is dispatched");

        // The offline transition of the same incident, consumed last (etcd is not asked: no cluster lists the engine).
        await run.PublishAsync(EngineState.Offline, offlineAt);
        var before = run.Dispatches;
        // The job never takes the vdisk's lease, so a running campaign dispatches it again every DispatchTimeout (2 s).
        await Eventually.TrueAsync(() => run.Dispatches >= before + 2, TimeSpan.FromSeconds(30), "the campaign still dispatches after the older transition");
        var record = await run.Work.GetAsync(WorkKind.Campaign, run.Engine, CancellationToken.None);
        Assert.Equal(EngineState.RepairFinalOutage, record?.Change.To);
    }

    [Fact]
    public async Task Seed_1000_a_campaign_whose_record_vanished_while_its_engine_is_in_repair_records_it_again_and_dispatches()
    {
        await using var run = await CampaignRun.StartAsync(owned: true); // served at first: nothing to dispatch
        await run.PublishAsync(EngineState.RepairFinalOutage, DateTimeOffset.UtcNow);
        await Eventually.UntilAsync(async () => await run.Work.GetAsync(WorkKind.Campaign, run.Engine, CancellationToken.None) is not null, "the campaign is recorded");

        await run.Work.DeleteAsync(WorkKind.Campaign, run.Engine, incident: null, CancellationToken.None);
        await run.Scheduler.Etcd.DeleteAsync(EtcdKeys.VdiskOwner(run.Vdisk)); // its server went away: the campaign's job now
        await Eventually.TrueAsync(() => run.Dispatches >= 1, TimeSpan.FromSeconds(30), "the vdisk is dispatched although the campaign's record was deleted");
        // A round that read the record before the test deleted it (and the owner key after) dispatches without recording
        // it again; the next round records it (the full suite hit that order once).
        await Eventually.UntilAsync(async () => await run.Work.GetAsync(WorkKind.Campaign, run.Engine, CancellationToken.None) is not null, "the campaign recorded again");
    }

    /// <summary>A scheduler, one agent queue capturing RepairVdisk, and one vdisk on a cluster of the engine.</summary>
    private sealed class CampaignRun(SchedulerFixture scheduler, ConcurrentQueue<RepairVdisk> received, string node, string cluster, string vdisk) : IAsyncDisposable
    {
        public SchedulerFixture Scheduler => scheduler;
        public string Vdisk => vdisk;
        public string Engine { get; } = $"127.0.0.1:{Random.Shared.Next(1, 1000)}";
        public string Incident { get; } = TestNames.Unique("inc");
        public SchedulerWorkStore Work => Scheduler.Services.GetRequiredService<SchedulerWorkStore>();
        public int Dispatches => received.Count(j => j.VdiskId == Vdisk && j.Address == Engine);

        public static async Task<CampaignRun> StartAsync(bool owned = false)
        {
            var (cluster, node, vdisk) = (TestNames.Unique("cluster"), TestNames.Unique("node"), TestNames.Unique("vd"));
            var received = new ConcurrentQueue<RepairVdisk>();
            var scheduler = await SchedulerFixture.StartAsync(new() { ["RepairScanInterval"] = "00:00:00.3", ["DispatchTimeout"] = "00:00:02" },
                cfg => SchedulerFixture.Capture<RepairVdisk>(cfg, AgentQueues.Name(node), received.Enqueue));
            await scheduler.Etcd.PutJsonAsync(EtcdKeys.VdiskNbdConfig(vdisk), new VdiskNbdConfig(cluster, cluster + "-slave"));
            if (owned) await scheduler.Etcd.PutJsonAsync(EtcdKeys.VdiskOwner(vdisk), new VdiskOwner("nbd-vm", VdiskOwnerKind.Vm, 1));
            // Other suites register real agents with loads >= 0 in the same etcd; a negative load keeps ours first.
            await scheduler.Etcd.PutJsonAsync(EtcdKeys.Agent(node), new AgentRegistration(node, "127.0.0.1:1", -10.0, DateTimeOffset.UtcNow));
            return new CampaignRun(scheduler, received, node, cluster, vdisk);
        }

        public Task PublishAsync(EngineState to, DateTimeOffset at) => Scheduler.Peer.Publish(new StorageEngineStateChanged
        {
            ClusterId = cluster, Address = Engine, From = to == EngineState.Offline ? EngineState.Online : EngineState.Offline, To = to, Incident = Incident, At = at,
        });

        public async ValueTask DisposeAsync()
        {
            await Work.DeleteAsync(WorkKind.Campaign, Engine, incident: null, CancellationToken.None);
            await Work.DeleteAsync(WorkKind.Analysis, Engine, incident: null, CancellationToken.None);
            foreach (var key in new[] { EtcdKeys.Agent(node), EtcdKeys.VdiskNbdConfig(Vdisk), EtcdKeys.VdiskOwner(Vdisk) }) await Scheduler.Etcd.DeleteAsync(key);
            await Scheduler.DisposeAsync();
        }
    }
}
