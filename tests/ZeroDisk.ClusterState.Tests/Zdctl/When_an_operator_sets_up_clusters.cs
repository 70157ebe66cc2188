using StackExchange.Redis;
using ZeroDisk.ClusterState.Setup;
using ZeroDisk.ServiceDefaults.Engines;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.ClusterState.Tests.Zdctl;

/// <summary>
/// Through the built zdctl: storage clusters created from real engines get their identity
/// markers on the engines and in etcd; an engine with another cluster's marker or with data is refused and left
/// alone; engines can be added or replaced only while no vdisk uses the cluster; NBD server exports are assigned;
/// a start needs a registered agent. Without the admin token nothing changes.
/// </summary>
public sealed class When_an_operator_sets_up_clusters
{
    [Fact]
    public async Task Markers_are_written_on_the_engines_and_in_etcd_and_foreign_or_used_engines_are_refused()
    {
        await using var deployment = await ClusterStateDeployment.CreateAsync();
        await using var engines = await RedisClusters.StartAsync(shards: 2, registered: false);
        await using var spare = await RedisClusters.StartAsync(shards: 2, registered: false);
        await deployment.StartInProcessAsync();
        var all = engines.Primary.Concat(engines.Slave).Concat(spare.Primary).Concat(spare.Slave).ToList();
        string primary = $"{deployment.Scope}-primary", slave = $"{deployment.Scope}-slave";
        var zdctl = new ZdctlCli(deployment);
        try
        {
            // No token: refused, nothing written anywhere.
            var anonymous = await new ZdctlCli(deployment, withToken: false).RunAsync(["cluster", "create", primary, .. engines.Primary.Select(e => e.Address)]);
            Assert.Equal(1, anonymous.ExitCode);
            Assert.Contains("refused (401)", anonymous.StdErr);
            Assert.Null(await MarkerAsync(engines.Primary[0].Address));
            Assert.Equal("", await deployment.Etcd.GetValAsync(EtcdKeys.StorageClusterConfig(primary)));

            // The token from a file named by the environment, as a script would.
            var tokenFile = Path.Combine(Path.GetTempPath(), $"{deployment.Scope}.token");
            await File.WriteAllTextAsync(tokenFile, ClusterStateInstance.AdminToken);
            var created = (await new ZdctlCli(deployment, withToken: false).RunAsync(["cluster", "create", primary, .. engines.Primary.Select(e => e.Address)],
                new Dictionary<string, string> { ["ZD_ADMIN_TOKEN_FILE"] = tokenFile })).EnsureSuccess("zdctl cluster create");
            File.Delete(tokenFile);
            Assert.Contains($"storage cluster '{primary}' created with 2 engine(s)", created.StdOut);
            (await zdctl.RunAsync(["cluster", "create", slave, .. engines.Slave.Select(e => e.Address)])).EnsureSuccess("zdctl cluster create slave");
            foreach (var (engine, cluster) in engines.Primary.Select(e => (e, primary)).Concat(engines.Slave.Select(e => (e, slave))))
            {
                var marker = await MarkerAsync(engine.Address);
                Assert.NotNull(marker);
                Assert.Equal(cluster, EngineMarkers.ClusterOf(marker!));
                Assert.Equal(marker, await deployment.Etcd.GetValAsync(EtcdKeys.EngineIdentity(engine.Address)));
            }
            Assert.Equal("healthy", await deployment.ClusterStatusAsync(primary));
            Assert.Matches($@"{primary}\s+healthy\s+2", (await zdctl.RunAsync("status")).StdOut);
            // A setup script run twice is fine; the same id with other engines is not.
            Assert.Contains("already exists with these engines", (await zdctl.RunAsync(["cluster", "create", primary, .. engines.Primary.Select(e => e.Address)])).StdOut);
            Assert.Equal(1, (await zdctl.RunAsync("cluster", "create", primary, spare.Primary[0].Address)).ExitCode);

            // Engines already in a cluster, carrying another cluster's marker, or holding data are refused; nothing is written.
            var taken = await zdctl.RunAsync("cluster", "create", $"{deployment.Scope}-other", engines.Primary[1].Address);
            Assert.Equal(1, taken.ExitCode);
            Assert.Contains($"is in storage cluster '{primary}'", taken.StdErr);
            string foreign = spare.Primary[0].Address, full = spare.Primary[1].Address, fresh = spare.Slave[0].Address;
            await SetAsync(foreign, EngineIdentity.RedisKey, "someone-elses/0123");
            await SetAsync(full, "nondedup:old-vdisk", "blocks");
            var refused = await zdctl.RunAsync("cluster", "create", $"{deployment.Scope}-other", fresh, foreign, full);
            Assert.Equal(1, refused.ExitCode);
            Assert.Contains("refused (409)", refused.StdErr);
            Assert.Contains($"{foreign} carries another identity marker ('someone-elses/0123')", refused.StdErr);
            Assert.Contains($"{full} holds data (keys nondedup:old-vdisk", refused.StdErr);
            Assert.Null(await MarkerAsync(fresh));
            Assert.Null(await MarkerAsync(full));
            Assert.Equal("someone-elses/0123", await MarkerAsync(foreign));
            Assert.Equal("", await deployment.Etcd.GetValAsync(EtcdKeys.StorageClusterConfig($"{deployment.Scope}-other")));
            Assert.Equal("", await deployment.Etcd.GetValAsync(EtcdKeys.EngineIdentity(fresh)));

            // Before any vdisk uses them, engines can be replaced and added (a new shard); markers follow.
            var replaced = (await zdctl.RunAsync("cluster", "replace-engine", primary, engines.Primary[1].Address, fresh)).EnsureSuccess("zdctl cluster replace-engine");
            Assert.Contains("as shard 1", replaced.StdOut);
            Assert.Equal(await MarkerAsync(fresh), await deployment.Etcd.GetValAsync(EtcdKeys.EngineIdentity(fresh)));
            Assert.Equal("", await deployment.Etcd.GetValAsync(EtcdKeys.EngineIdentity(engines.Primary[1].Address)));
            // The replaced engine still carries this cluster's marker, so it may come back to it.
            (await zdctl.RunAsync("cluster", "add-engine", primary, engines.Primary[1].Address)).EnsureSuccess("zdctl cluster add-engine");
            (await zdctl.RunAsync("cluster", "add-engine", slave, spare.Slave[1].Address)).EnsureSuccess("zdctl cluster add-engine slave");
            var config = await deployment.Etcd.GetJsonAsync<StorageClusterConfig>(EtcdKeys.StorageClusterConfig(primary));
            Assert.Equal([engines.Primary[0].Address, fresh, engines.Primary[1].Address], config!.Value.Servers.Select(s => s.Address));

            // Once a vdisk uses the cluster its engines stay: every block's shard depends on them.
            var vdisk = $"{deployment.Scope}-vd1";
            (await zdctl.RunAsync("vdisk", "create", vdisk, "--cluster", primary, "--slave-cluster", slave, "--size", "1")).EnsureSuccess("zdctl vdisk create");
            var used = await zdctl.RunAsync("cluster", "replace-engine", primary, fresh, spare.Slave[1].Address);
            Assert.Equal(1, used.ExitCode);
            Assert.Contains($"is used by vdisk(s) {vdisk}", used.StdErr);

            // Tlog cluster, exports of an NBD server, and a start refused while the node has no agent.
            (await zdctl.RunAsync("tlog", "create", $"{deployment.Scope}-tlog", "127.0.0.1:21001", "127.0.0.1:21002")).EnsureSuccess("zdctl tlog create");
            Assert.Contains("127.0.0.1:21002", await deployment.Etcd.GetValAsync(EtcdKeys.TlogClusterConfig($"{deployment.Scope}-tlog")));
            var server = $"{deployment.Scope}-nbd1";
            Assert.Contains("refused (404)", (await zdctl.RunAsync("nbdserver", "assign", server, $"{deployment.Scope}-nope")).StdErr);
            (await zdctl.RunAsync("nbdserver", "assign", server, vdisk)).EnsureSuccess("zdctl nbdserver assign");
            Assert.Equal(ZeroDiskJson.Serialize(new NbdServerVdisksConfig([vdisk])), await deployment.Etcd.GetValAsync(EtcdKeys.NbdServerVdisks(server)));
            var noAgent = await zdctl.RunAsync("nbdserver", "start", server, "--node", $"{deployment.Scope}-node9");
            Assert.Equal(1, noAgent.ExitCode);
            Assert.Contains("no agent is registered", noAgent.StdErr);
            (await zdctl.RunAsync("nbdserver", "unassign", server, vdisk)).EnsureSuccess("zdctl nbdserver unassign");
            Assert.Equal(ZeroDiskJson.Serialize(new NbdServerVdisksConfig([])), await deployment.Etcd.GetValAsync(EtcdKeys.NbdServerVdisks(server)));
        }
        finally
        {
            foreach (var engine in all) await deployment.Etcd.DeleteAsync(EtcdKeys.EngineIdentity(engine.Address));
        }
    }

    private static async Task<string?> MarkerAsync(string address)
    {
        await using var redis = await EngineConnection.ConnectAsync(address);
        return await redis.GetDatabase().StringGetAsync(EngineIdentity.RedisKey);
    }

    private static async Task SetAsync(string address, string key, string value)
    {
        await using var redis = await EngineConnection.ConnectAsync(address);
        await redis.GetDatabase().StringSetAsync(key, value);
    }
}
