using StackExchange.Redis;
using ZeroDisk.ClusterState.StorageEngines;

namespace ZeroDisk.ClusterState.Tests.Scheduler;

/// <summary>
/// The repair's verification, on by default, with the real scheduler scanning real engines: a completion is not enough, the
/// engine goes online / rip only once the scan is clean, and a vdisk the scan finds unrepaired is dispatched again.
/// </summary>
[Collection(SchedulerScenarios.Name)]
public sealed class When_a_repair_leaves_work_behind
{
    [Fact]
    public async Task A_dirty_set_left_in_place_keeps_the_engine_out_of_online_until_a_repeated_repair_removes_it()
    {
        await using var scenario = await SchedulerScenario.StartAsync();
        var (engine, twin) = (scenario.Primary[0], scenario.Slave[0]);
        var survivor = await scenario.DatabaseAsync(twin);
        var dirty = (RedisKey)$"dirty:{scenario.Vdisk}:{engine.Address}";
        await survivor.SetAddAsync(dirty, [3, 7]); // what an NBD server leaves on the twin while the engine is down

        await scenario.Deployment.ReportFailureAsync(engine.Address);
        var incident = await scenario.IncidentAsync(engine);
        // The engine answers: the scheduler classifies it temporary and dispatches vd1, which nobody serves.
        var first = await scenario.JobAsync(1);
        Assert.Equal((scenario.Vdisk, RepairKind.Tmp, incident), (first.VdiskId, first.Kind, first.Incident));
        await scenario.WaitForAsync(engine, EngineState.RepairTmpOutage);

        // The job reports completion but leaves the dirty set: the scan finds it, the vdisk is repaired again.
        await scenario.CompleteAsync(first);
        var second = await scenario.JobAsync(2);
        Assert.Equal((scenario.Vdisk, incident), (second.VdiskId, second.Incident));
        Assert.Equal(EngineState.RepairTmpOutage, await scenario.StateAsync(engine));
        Assert.Equal(["Running", "Completed", "Running"], await scenario.Deployment.VdiskRepairPhasesAsync(scenario.Vdisk, incident, 3));

        // The repeated job copies the blocks and empties the set: verified clean, online.
        await survivor.KeyDeleteAsync(dirty);
        await scenario.CompleteAsync(second);
        await scenario.WaitForAsync(engine, EngineState.Online);
        await scenario.Deployment.WaitForClusterAsync(scenario.PrimaryCluster, ClusterStatus.Healthy);
        var saga = await scenario.Deployment.EngineSagaAsync(engine.Address);
        Assert.StartsWith("the repair was verified clean", saga!.History[^1].Reason);
        Assert.Equal([EngineStateNames.Offline, EngineStateNames.RepairingTmpOutage, EngineStateNames.Online], saga.History.Select(h => h.To));
        Assert.Equal(2, scenario.Jobs.Count);
    }

    [Fact]
    public async Task One_block_missing_from_a_respread_keeps_the_engine_out_of_rip_until_a_repeated_respread_moves_it()
    {
        await using var scenario = await SchedulerScenario.StartAsync(shards: 2, schedulerSettings: new() { ["Deadline"] = "00:00:03" });
        var dead = scenario.Primary[0];
        var engines = new Dictionary<RedisServerProcess, IDatabase>();
        foreach (var engine in scenario.Primary.Concat(scenario.Slave)) engines[engine] = await scenario.DatabaseAsync(engine);
        var blocks = (RedisKey)$"nondedup:{scenario.Vdisk}";
        // Blocks 0..15 mirrored on their home shard (i % 2).
        for (var block = 0; block < 16; block++)
            foreach (var side in new[] { scenario.Primary, scenario.Slave })
                await engines[side[block % 2]].HashSetAsync(blocks, block, $"block-{block}");
        var leaveOut = 6L; // a block of shard 0 the first respread "forgets"
        var respreads = 0;
        scenario.OnJob = async job =>
        {
            // The played agent respreads shard 0 from its surviving side (the slave) to the new homes, both sides.
            var skip = Interlocked.Increment(ref respreads) == 1 ? leaveOut : -1;
            foreach (var entry in await engines[scenario.Slave[0]].HashGetAllAsync(blocks))
            {
                var block = (long)entry.Name;
                if (block % 2 != 0 || block == skip) continue;
                var home = ShardPlacement.ShardOf(block, [true, false]);
                await engines[scenario.Primary[home]].HashSetAsync(blocks, block, entry.Value);
                await engines[scenario.Slave[home]].HashSetAsync(blocks, block, entry.Value);
            }
            await scenario.CompleteAsync(job);
        };

        await dead.KillAsync();
        await scenario.Deployment.ReportFailureAsync(dead.Address);
        var incident = await scenario.IncidentAsync(dead);
        var first = await scenario.JobAsync(1, TimeSpan.FromSeconds(90));
        Assert.Equal((RepairKind.Final, incident), (first.Kind, first.Incident));
        var second = await scenario.JobAsync(2, TimeSpan.FromSeconds(90));
        Assert.Equal((scenario.Vdisk, RepairKind.Final), (second.VdiskId, second.Kind));
        await scenario.WaitForAsync(dead, EngineState.Rip);
        await scenario.Deployment.WaitForClusterAsync(scenario.PrimaryCluster, ClusterStatus.Healthy);
        var saga = await scenario.Deployment.EngineSagaAsync(dead.Address);
        Assert.Equal([EngineStateNames.Offline, EngineStateNames.RepairingFinalOutage, EngineStateNames.Rip], saga!.History.Select(h => h.To));
        Assert.StartsWith("the repair was verified clean", saga.History[^1].Reason);
        Assert.Equal(["Running", "Completed", "Running", "Completed"], await scenario.Deployment.VdiskRepairPhasesAsync(scenario.Vdisk, incident, 4));
        Assert.True(await engines[scenario.Primary[1]].HashExistsAsync(blocks, leaveOut), "the forgotten block was moved by the repeated respread");
        Assert.Equal(2, scenario.Jobs.Count);
    }
}
