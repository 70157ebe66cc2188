using System.Net;
using System.Net.Http.Json;
using dotnet_etcd;
using StackExchange.Redis;
using ZeroDisk.ClusterState.Admin;
using ZeroDisk.ClusterState.Persistence;
using ZeroDisk.ServiceDefaults.Engines;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.ClusterState.Tests.Scenarios;

/// <summary>
/// One writer per vdisk: a vdisk that is owned (<c>&lt;vdiskID&gt;:vdisk:owner</c>, a serving NBD server or a repair job)
/// is not deleted — 409, its configs and its blocks untouched — and the delete's etcd transaction compares the owner
/// key absent. A vdisk create compares the clusters' config and status revisions it checked.
/// </summary>
public sealed class When_a_served_vdisk_is_deleted
{
    [Fact]
    public async Task It_is_refused_with_409_and_no_data_is_touched_until_its_owner_is_gone()
    {
        await using var deployment = await ClusterStateDeployment.CreateAsync();
        await using var engines = await RedisClusters.StartAsync(shards: 1, registered: false);
        await deployment.StartInProcessAsync();
        using var http = deployment.Http();
        var all = engines.Primary.Concat(engines.Slave).ToList();
        string primary = $"{deployment.Scope}-primary", slave = $"{deployment.Scope}-slave";
        try
        {
            Assert.Equal(HttpStatusCode.Created, (await http.PostAsJsonAsync("/clusters", new { id = primary, engines = new[] { engines.Primary[0].Address } })).StatusCode);
            Assert.Equal(HttpStatusCode.Created, (await http.PostAsJsonAsync("/clusters", new { id = slave, engines = new[] { engines.Slave[0].Address } })).StatusCode);
            var vdisk = $"{deployment.Scope}-vd1";
            Assert.Equal(HttpStatusCode.Created, (await http.PostAsJsonAsync("/vdisks", new { id = vdisk, storageClusterID = primary, slaveStorageClusterID = slave, size = 1 })).StatusCode);
            foreach (var engine in all)
            {
                await using var redis = await EngineConnection.ConnectAsync(engine.Address);
                await redis.GetDatabase().HashSetAsync($"nondedup:{vdisk}", 3, "block three");
            }

            // Served: an NBD server holds the owner key under its lease, as `nbdhost serve` does.
            var lease = await deployment.Etcd.LeaseGrantAsync(new Etcdserverpb.LeaseGrantRequest { TTL = 60 });
            await deployment.Etcd.PutAsync(new Etcdserverpb.PutRequest
            {
                Key = Google.Protobuf.ByteString.CopyFromUtf8(EtcdKeys.VdiskOwner(vdisk)),
                Value = Google.Protobuf.ByteString.CopyFromUtf8(ZeroDiskJson.Serialize(new VdiskOwner("nbd-7", VdiskOwnerKind.Vm, 42))),
                Lease = lease.ID,
            });
            var refused = await http.DeleteAsync($"/vdisks/{vdisk}");
            Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
            var reason = await refused.Content.ReadAsStringAsync();
            Assert.Contains("nbd-7", reason);
            Assert.Contains("being served", reason);
            Assert.NotEqual("", await deployment.Etcd.GetValAsync(EtcdKeys.VdiskStaticConfig(vdisk)));
            Assert.NotEqual("", await deployment.Etcd.GetValAsync(EtcdKeys.VdiskNbdConfig(vdisk)));
            Assert.Equal("", await deployment.Etcd.GetValAsync(VdiskAdmin.Tombstone(vdisk)));
            foreach (var engine in all)
            {
                await using var redis = await EngineConnection.ConnectAsync(engine.Address);
                Assert.Equal("block three", (string?)await redis.GetDatabase().HashGetAsync($"nondedup:{vdisk}", 3));
            }

            // The server stops serving it (its lease ends): now the delete goes through and purges.
            await deployment.Etcd.LeaseRevokeAsync(new Etcdserverpb.LeaseRevokeRequest { ID = lease.ID });
            Assert.Equal(HttpStatusCode.OK, (await http.DeleteAsync($"/vdisks/{vdisk}")).StatusCode);
            foreach (var engine in all)
            {
                await using var redis = await EngineConnection.ConnectAsync(engine.Address);
                Assert.False(await redis.GetDatabase().KeyExistsAsync($"nondedup:{vdisk}"));
            }
        }
        finally
        {
            foreach (var engine in all) await deployment.Etcd.DeleteAsync(EtcdKeys.EngineIdentity(engine.Address));
        }
    }

    [Fact]
    public async Task A_create_checked_before_an_engine_failed_does_not_commit_after_it()
    {
        await using var deployment = await ClusterStateDeployment.CreateAsync();
        string a = deployment.NewEngineAddress(), b = deployment.NewEngineAddress();
        var cluster = await deployment.SeedClusterAsync("primary", a, b);
        var vdiskKey = EtcdKeys.VdiskStaticConfig($"{deployment.Scope}-vd1");

        // The create's check passes (healthy) ...
        var transaction = new EtcdTransaction().ExpectVersion(vdiskKey, 0);
        Assert.Null(await ClusterGate.RequireHealthyAsync(deployment.Etcd, transaction, cluster, CancellationToken.None));
        transaction.Put(vdiskKey, ZeroDiskJson.Serialize(new VdiskStaticConfig()));

        // ... then an engine fails: the saga's transaction marks it offline in the cluster config (the status key
        // is written in the same transaction; here only the config changes, the narrowest case).
        var config = await deployment.Etcd.GetJsonAsync<StorageClusterConfig>(EtcdKeys.StorageClusterConfig(cluster));
        await deployment.Etcd.PutJsonAsync(EtcdKeys.StorageClusterConfig(cluster),
            new StorageClusterConfig(config!.Value.Servers.Select(s => s.Address == a ? s with { State = EngineState.Offline } : s).ToList()));

        Assert.False(await transaction.CommitAsync(deployment.Etcd, CancellationToken.None));
        Assert.Equal("", await deployment.Etcd.GetValAsync(vdiskKey));

        // The same holds for a status change alone.
        var again = new EtcdTransaction().ExpectVersion(vdiskKey, 0);
        await deployment.Etcd.PutJsonAsync(EtcdKeys.StorageClusterConfig(cluster), config.Value);
        Assert.Null(await ClusterGate.RequireHealthyAsync(deployment.Etcd, again, cluster, CancellationToken.None));
        again.Put(vdiskKey, "{}");
        await deployment.Etcd.PutAsync(EtcdKeys.ClusterStatus(cluster), ClusterStatus.Repairing.ToWire());
        Assert.False(await again.CommitAsync(deployment.Etcd, CancellationToken.None));
    }
}
