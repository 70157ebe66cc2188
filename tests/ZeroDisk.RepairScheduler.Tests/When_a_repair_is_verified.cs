using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using ZeroDisk.Contracts;
using ZeroDisk.RepairScheduler.Repair;
using ZeroDisk.ServiceDefaults.Engines;
using ZeroDisk.ServiceDefaults.Etcd;
using ZeroDisk.Testing;

namespace ZeroDisk.RepairScheduler.Tests;

/// <summary>The verifier's scans of a temporary outage's repair and of a respread against real engines.</summary>
public class When_a_repair_is_verified
{
    [Fact]
    public async Task Only_an_affected_vdisks_dirty_set_is_leftover_and_a_survivor_that_cannot_be_scanned_makes_it_unclean()
    {
        var endpoints = await SharedInfrastructure.GetAsync();
        using var etcd = EtcdExtensions.CreateClient(endpoints.EtcdEndpoints);
        await using var repaired = await RedisServerProcess.StartAsync();
        await using var twin = await RedisServerProcess.StartAsync();
        var (primary, slave) = (TestNames.Unique("cluster-p"), TestNames.Unique("cluster-s"));
        var (affected, foreign) = (TestNames.Unique("vd"), TestNames.Unique("vd"));
        await etcd.PutJsonAsync(EtcdKeys.StorageClusterConfig(primary), new StorageClusterConfig([new(repaired.Address, State: EngineState.RepairTmpOutage)]));
        await etcd.PutJsonAsync(EtcdKeys.StorageClusterConfig(slave), new StorageClusterConfig([new(twin.Address)]));
        await etcd.PutJsonAsync(EtcdKeys.VdiskNbdConfig(affected), new VdiskNbdConfig(primary, slave));
        var (verifier, request) = Verifier(etcd, primary, repaired.Address, RepairKind.Tmp, affected);
        try
        {
            await using var connection = await EngineConnection.ConnectAsync(twin.Address);
            var db = connection.GetDatabase();
            await db.SetAddAsync($"dirty:{foreign}:{repaired.Address}", 1); // a vdisk the outage did not affect: not this repair's
            Assert.True((await verifier.VerifyAsync(request, default)).Clean);

            await db.SetAddAsync($"dirty:{affected}:{repaired.Address}", 5);
            var dirty = await verifier.VerifyAsync(request, default);
            Assert.False(dirty.Clean);
            Assert.Equal([affected], dirty.LeftoverVdisks);

            await db.KeyDeleteAsync($"dirty:{affected}:{repaired.Address}");
            await twin.KillAsync(); // online in etcd, but cannot be scanned: nothing proves the repair complete
            var unverifiable = await verifier.VerifyAsync(request, default);
            Assert.False(unverifiable.Clean);
            Assert.Empty(unverifiable.LeftoverVdisks);
            Assert.Contains(twin.Address, unverifiable.Reason);
        }
        finally
        {
            foreach (var key in new[] { EtcdKeys.StorageClusterConfig(primary), EtcdKeys.StorageClusterConfig(slave), EtcdKeys.VdiskNbdConfig(affected) })
                await etcd.DeleteAsync(key);
        }
    }

    /// <summary>
    /// The verifier's scan of a final outage's respread against real engines. Fault-check seed 1000:
    /// a served vdisk finished its respread, switched to the new homes, and its client trimmed a moved block
    /// there; the old surviving side kept its copy, the verifier called the block "not at its new home", and the vdisk —
    /// served, so never dispatched — stayed Running for good (and a redo would have copied the older block back).
    /// </summary>
    [Fact]
    public async Task Seed_1000_a_block_trimmed_at_its_new_home_after_the_recorded_switch_is_no_leftover_but_one_never_moved_is()
    {
        var endpoints = await SharedInfrastructure.GetAsync();
        using var etcd = EtcdExtensions.CreateClient(endpoints.EtcdEndpoints);
        await using var p0 = await RedisServerProcess.StartAsync();
        await using var dead = await RedisServerProcess.StartAsync(); // primary shard 1, gone for good
        await using var s0 = await RedisServerProcess.StartAsync();
        await using var survivor = await RedisServerProcess.StartAsync(); // slave shard 1
        var (primary, slave, vdisk) = (TestNames.Unique("cluster-p"), TestNames.Unique("cluster-s"), TestNames.Unique("vd"));
        var marker = TestNames.Unique("marker");
        await etcd.PutJsonAsync(EtcdKeys.StorageClusterConfig(primary), new StorageClusterConfig([new(p0.Address), new(dead.Address, State: EngineState.RepairFinalOutage)]));
        await etcd.PutJsonAsync(EtcdKeys.StorageClusterConfig(slave), new StorageClusterConfig([new(s0.Address), new(survivor.Address)]));
        await etcd.PutJsonAsync(EtcdKeys.VdiskNbdConfig(vdisk), new VdiskNbdConfig(primary, slave));
        await etcd.PutAsync(EtcdKeys.EngineIdentity(dead.Address), marker);
        var (verifier, request) = Verifier(etcd, primary, dead.Address, RepairKind.Final, vdisk);
        try
        {
            // Block 3 (shard 1) moved to its new home (shard 0) on both sides; block 5 (shard 1) is on the survivor only.
            await using var survivorConnection = await EngineConnection.ConnectAsync(survivor.Address);
            var old = survivorConnection.GetDatabase();
            var blocks = (RedisKey)$"nondedup:{vdisk}";
            Assert.Equal(0, ShardPlacement.ShardOf(3, [false, true]));
            Assert.Equal(0, ShardPlacement.ShardOf(5, [false, true]));
            await old.HashSetAsync(blocks, [new(3, "old"), new(5, "old")]);
            foreach (var home in new[] { p0, s0 })
            {
                await using var c = await EngineConnection.ConnectAsync(home.Address);
                await c.GetDatabase().HashSetAsync(blocks, 3, "moved");
            }
            // Not recorded done: block 5 was never moved, the vdisk is sent back.
            var notDone = await verifier.VerifyAsync(request, default);
            Assert.False(notDone.Clean);
            Assert.Equal([vdisk], notDone.LeftoverVdisks);

            // A record for another engine that took the address (another marker) proves nothing.
            await old.StringSetAsync($"respread-done:{vdisk}:{dead.Address}", "done someone-else");
            Assert.Equal([vdisk], (await verifier.VerifyAsync(request, default)).LeftoverVdisks);

            // Its owner recorded the respread done (then block 5 was moved, and trimmed at its new home since).
            await old.StringSetAsync($"respread-done:{vdisk}:{dead.Address}", "done " + marker);
            var done = await verifier.VerifyAsync(request, default);
            Assert.True(done.Clean, done.Reason);
            Assert.Empty(done.LeftoverVdisks);
        }
        finally
        {
            foreach (var key in new[] { EtcdKeys.StorageClusterConfig(primary), EtcdKeys.StorageClusterConfig(slave), EtcdKeys.VdiskNbdConfig(vdisk), EtcdKeys.EngineIdentity(dead.Address) })
                await etcd.DeleteAsync(key);
        }
    }

    private static (RepairVerifier Verifier, RepairVerificationRequested Request) Verifier(dotnet_etcd.EtcdClient etcd, string cluster, string address, RepairKind kind, string vdisk) =>
        (new RepairVerifier(etcd, Options.Create(new SchedulerOptions()), NullLogger<RepairVerifier>.Instance),
         new RepairVerificationRequested { ClusterId = cluster, Address = address, Incident = "inc", Kind = kind, Vdisks = [vdisk], At = DateTimeOffset.UtcNow });
}
