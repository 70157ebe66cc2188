using System.Net;
using System.Net.Http.Json;
using StackExchange.Redis;
using ZeroDisk.ServiceDefaults.Engines;

namespace ZeroDisk.ClusterState.Tests.Scenarios;

/// <summary>Seed step 1: no vdisk creation or deletion while a cluster is repairing; the admin API answers 409 then.</summary>
public sealed class When_vdisks_are_created_and_deleted_around_a_repair
{
    [Fact]
    public async Task They_are_refused_while_repairing_accepted_afterwards_and_bad_input_gets_400()
    {
        await using var deployment = await ClusterStateDeployment.CreateAsync();
        await using var engines = await RedisClusters.StartAsync(shards: 2);
        await deployment.StartInProcessAsync();
        foreach (var e in engines.Primary.Concat(engines.Slave)) deployment.TrackEngine(e.Address);
        var primary = await deployment.SeedClusterAsync("primary", [.. engines.Primary.Select(e => e.Address)]);
        var slave = await deployment.SeedClusterAsync("slave", [.. engines.Slave.Select(e => e.Address)]);
        using var http = deployment.Http();
        object Vdisk(string name, int blockSize = 4096) => new { id = $"{deployment.Scope}-{name}", storageClusterID = primary, slaveStorageClusterID = slave, blockSize, size = 1 };

        // Bad input: 400 with the validation message.
        var bad = await http.PostAsJsonAsync("/vdisks", Vdisk("bad", blockSize: 1000));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("blockSize", await bad.Content.ReadAsStringAsync());
        var badId = await http.PostAsJsonAsync("/vdisks", new { id = "no spaces", storageClusterID = primary, slaveStorageClusterID = slave });
        Assert.Equal(HttpStatusCode.BadRequest, badId.StatusCode);
        var sameCluster = await http.PostAsJsonAsync("/vdisks", new { id = $"{deployment.Scope}-x", storageClusterID = primary, slaveStorageClusterID = primary });
        Assert.Equal(HttpStatusCode.BadRequest, sameCluster.StatusCode);
        var unknownCluster = await http.PostAsJsonAsync("/vdisks", new { id = $"{deployment.Scope}-y", storageClusterID = primary, slaveStorageClusterID = $"{deployment.Scope}-nope" });
        Assert.Equal(HttpStatusCode.BadRequest, unknownCluster.StatusCode);

        // Healthy: created (and a second create of the same id conflicts).
        Assert.Equal(HttpStatusCode.Created, (await http.PostAsJsonAsync("/vdisks", Vdisk("vd1"))).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await http.PostAsJsonAsync("/vdisks", Vdisk("vd1"))).StatusCode);
        var vd1 = $"{deployment.Scope}-vd1";
        Assert.NotEqual("", await deployment.Etcd.GetValAsync(EtcdKeys.VdiskStaticConfig(vd1)));

        // An engine of the slave cluster fails: both operations are refused with 409.
        var failed = engines.Slave[1].Address;
        await deployment.ReportFailureAsync(failed);
        await deployment.WaitForClusterAsync(slave, ClusterStatus.Repairing);
        var refusedCreate = await http.PostAsJsonAsync("/vdisks", Vdisk("vd2"));
        Assert.Equal(HttpStatusCode.Conflict, refusedCreate.StatusCode);
        Assert.Contains("repairing", await refusedCreate.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Conflict, (await http.DeleteAsync($"/vdisks/{vd1}")).StatusCode);
        Assert.NotEqual("", await deployment.Etcd.GetValAsync(EtcdKeys.VdiskNbdConfig(vd1)));

        // The API shows the engine in repair with its incident and progress.
        var listed = await http.GetStringAsync("/engines");
        Assert.Contains(failed, listed);
        Assert.Contains("offline", listed);

        // Repaired: accepted again.
        var incident = await deployment.IncidentAsync(failed);
        await deployment.ClassifyAsync(failed, incident, OutageKind.Temporary);
        await deployment.WaitForEngineAsync(slave, failed, EngineState.RepairTmpOutage);
        await deployment.CompleteAsync(failed, vd1, RepairKind.Tmp, incident);
        await deployment.WaitForClusterAsync(slave, ClusterStatus.Healthy);
        Assert.Equal(HttpStatusCode.Created, (await http.PostAsJsonAsync("/vdisks", Vdisk("vd2"))).StatusCode);

        // Delete purges the vdisk's blocks from every engine of both clusters.
        foreach (var engine in engines.Primary.Concat(engines.Slave))
        {
            await using var redis = await EngineConnection.ConnectAsync(engine.Address);
            await redis.GetDatabase().HashSetAsync($"nondedup:{vd1}", 7, "block");
        }
        var deleted = await http.DeleteAsync($"/vdisks/{vd1}");
        Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        Assert.Equal("", await deployment.Etcd.GetValAsync(EtcdKeys.VdiskNbdConfig(vd1)));
        Assert.Equal("", await deployment.Etcd.GetValAsync(EtcdKeys.VdiskStaticConfig(vd1)));
        foreach (var engine in engines.Primary.Concat(engines.Slave))
        {
            await using var redis = await EngineConnection.ConnectAsync(engine.Address);
            Assert.False(await redis.GetDatabase().KeyExistsAsync($"nondedup:{vd1}"));
        }
        Assert.Equal(HttpStatusCode.NotFound, (await http.DeleteAsync($"/vdisks/{vd1}")).StatusCode);
        // The id can be reused once purged.
        Assert.Equal(HttpStatusCode.Created, (await http.PostAsJsonAsync("/vdisks", Vdisk("vd1"))).StatusCode);

        var vdisks = await http.GetStringAsync("/vdisks");
        Assert.Contains(vd1, vdisks);
        Assert.Contains($"{deployment.Scope}-vd2", vdisks);
        var clusters = await http.GetStringAsync("/clusters");
        Assert.Contains(slave, clusters);
        var repairs = await http.GetStringAsync("/repairs");
        Assert.Contains(incident, repairs);
    }
}
