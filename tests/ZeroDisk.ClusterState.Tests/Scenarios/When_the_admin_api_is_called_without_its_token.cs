using System.Net;
using System.Net.Http.Json;
using ZeroDisk.ClusterState.Admin;

namespace ZeroDisk.ClusterState.Tests.Scenarios;

/// <summary>
/// Every mutating admin call needs the bearer token (ClusterState:AdminToken or AdminTokenFile);
/// without it, or with a wrong one, 401 and nothing changes; with it, as before. Reads stay open.
/// </summary>
public sealed class When_the_admin_api_is_called_without_its_token
{
    [Fact]
    public async Task Mutating_calls_get_401_and_change_nothing_reads_stay_open_and_the_token_lets_them_through()
    {
        await using var deployment = await ClusterStateDeployment.CreateAsync();
        await using var engines = await RedisClusters.StartAsync(shards: 1, registered: false);
        await deployment.StartInProcessAsync();
        string a = engines.Primary[0].Address, b = engines.Slave[0].Address;
        deployment.TrackEngine(a);
        deployment.TrackEngine(b);
        var primary = await deployment.SeedClusterAsync("primary", a);
        var slave = await deployment.SeedClusterAsync("slave", b);
        var vdisk = $"{deployment.Scope}-vd1";
        var body = new { id = vdisk, storageClusterID = primary, slaveStorageClusterID = slave, size = 1 };

        foreach (var token in new[] { null, "wrong-token", ClusterStateInstance.AdminToken + "x", "" })
        {
            using var http = deployment.Http(token: token);
            var create = await http.PostAsJsonAsync("/vdisks", body);
            Assert.Equal(HttpStatusCode.Unauthorized, create.StatusCode);
            Assert.Equal("Bearer", create.Headers.WwwAuthenticate.Single().Scheme);
            Assert.Equal(HttpStatusCode.Unauthorized, (await http.DeleteAsync($"/vdisks/{vdisk}")).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await http.PostAsJsonAsync($"/engines/{a}/outage", new { kind = "permanent" })).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await http.PostAsJsonAsync("/clusters", new { id = $"{deployment.Scope}-c", engines = new[] { "127.0.0.1:1" } })).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await http.PostAsJsonAsync($"/nbdservers/{deployment.Scope}-nbd/vdisks/{vdisk}", new { })).StatusCode);
            // Reads need no token.
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/vdisks")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/clusters")).StatusCode);
        }
        Assert.Equal("", await deployment.Etcd.GetValAsync(EtcdKeys.VdiskStaticConfig(vdisk)));
        Assert.Equal("", await deployment.Etcd.GetValAsync(EtcdKeys.NbdServerVdisks($"{deployment.Scope}-nbd")));

        using var admin = deployment.Http();
        Assert.Equal(HttpStatusCode.Created, (await admin.PostAsJsonAsync("/vdisks", body)).StatusCode);
        Assert.NotEqual("", await deployment.Etcd.GetValAsync(EtcdKeys.VdiskStaticConfig(vdisk)));
        Assert.Equal(HttpStatusCode.OK, (await admin.DeleteAsync($"/vdisks/{vdisk}")).StatusCode);
    }

    [Fact]
    public async Task The_token_can_come_from_a_file_read_on_each_call_and_without_any_token_mutations_are_disabled()
    {
        await using var deployment = await ClusterStateDeployment.CreateAsync();
        await using var engines = await RedisClusters.StartAsync(shards: 1, registered: false);
        var file = Path.Combine(Path.GetTempPath(), $"{deployment.Scope}.token");
        await File.WriteAllTextAsync(file, "from-a-file\n");
        try
        {
            await deployment.StartInProcessAsync([$"--ClusterState:AdminToken=", $"--ClusterState:AdminTokenFile={file}"]);
            deployment.TrackEngine(engines.Primary[0].Address);
            deployment.TrackEngine(engines.Slave[0].Address);
            var cluster = await deployment.SeedClusterAsync("primary", engines.Primary[0].Address);
            var slave = await deployment.SeedClusterAsync("slave", engines.Slave[0].Address);
            var body = new { id = $"{deployment.Scope}-vd1", storageClusterID = cluster, slaveStorageClusterID = slave, size = 1 };

            using (var configured = deployment.Http(token: ClusterStateInstance.AdminToken))
                Assert.Equal(HttpStatusCode.Unauthorized, (await configured.PostAsJsonAsync("/vdisks", body)).StatusCode);
            using (var fromFile = deployment.Http(token: "from-a-file"))
                Assert.Equal(HttpStatusCode.Created, (await fromFile.PostAsJsonAsync("/vdisks", body)).StatusCode);

            // Rotated: the new secret counts at once, the old one no longer.
            await File.WriteAllTextAsync(file, "rotated");
            using (var old = deployment.Http(token: "from-a-file"))
                Assert.Equal(HttpStatusCode.Unauthorized, (await old.DeleteAsync($"/vdisks/{deployment.Scope}-vd1")).StatusCode);
            using (var rotated = deployment.Http(token: "rotated"))
                Assert.Equal(HttpStatusCode.OK, (await rotated.DeleteAsync($"/vdisks/{deployment.Scope}-vd1")).StatusCode);

            // No token configured at all (the file is gone): every mutating call is refused, whatever is sent.
            File.Delete(file);
            using var any = deployment.Http(token: "rotated");
            var refused = await any.PostAsJsonAsync("/vdisks", body);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.Contains("no admin token is configured", await refused.Content.ReadAsStringAsync());
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Tokens_are_compared_whole()
    {
        Assert.True(AdminAuthentication.TokensEqual("s3cret", "s3cret"));
        Assert.False(AdminAuthentication.TokensEqual("s3cret", "s3cre"));
        Assert.False(AdminAuthentication.TokensEqual("s3cret", "s3cret "));
        Assert.False(AdminAuthentication.TokensEqual("", "s3cret"));
    }
}
