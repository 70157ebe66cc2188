using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using ZeroDisk.Contracts;
using ZeroDisk.RepairScheduler.Repair;
using ZeroDisk.ServiceDefaults.Etcd;
using ZeroDisk.Testing;

namespace ZeroDisk.RepairScheduler.Tests;

/// <summary>The verifier's scan of a temporary outage's repair against real engines (DESIGN §4 Verify).</summary>
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
        var verifier = new RepairVerifier(etcd, Options.Create(new SchedulerOptions()), NullLogger<RepairVerifier>.Instance);
        var request = new RepairVerificationRequested
        {
            ClusterId = primary, Address = repaired.Address, Incident = "inc", Kind = RepairKind.Tmp, Vdisks = [affected], At = DateTimeOffset.UtcNow,
        };
        try
        {
            await using var connection = await ConnectionMultiplexer.ConnectAsync(twin.Address);
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
}
