using System.Security.Cryptography;
using Grpc.Core;
using ZeroDisk.ServiceDefaults.Etcd;
using ZeroDisk.Testing;

namespace ZeroDisk.Infrastructure.Tests;

/// <summary>
/// etcd with <c>auth enable</c> (issue 21): the one etcd client builder authenticates with the configured user, keeps
/// working when etcd forgets its token (a restarted member forgets every simple token), and a client without
/// credentials or with a wrong password is refused with a reason that names the settings, never the password.
/// </summary>
public class When_etcd_requires_authentication
{
    [Fact]
    public async Task The_configured_user_reads_and_writes_across_a_restart_and_others_are_refused_with_a_reason()
    {
        await using var cluster = await EtcdClusterProcess.StartAsync(members: 1);
        var password = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        await cluster.EnableAuthAsync("zerodisk", password);
        var key = TestNames.Unique("it/auth");

        using var client = EtcdExtensions.CreateClient(cluster.Endpoints, new EtcdCredentials { User = "zerodisk", Password = password });
        await client.PutAsync(key, "one");
        Assert.Equal("one", (await client.GetValAsync(key)));

        // The member's restart drops the token it issued: the next call gets "invalid auth token", takes a new one and succeeds.
        await cluster.KillAsync(0);
        await cluster.StartAgainAsync(0);
        await Eventually.UntilAsync(async () =>
        {
            try
            {
                await client.PutAsync(key, "two");
                return true;
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Unavailable)
            {
                return false; // the member is still starting
            }
        }, "a put after the restart", TimeSpan.FromSeconds(30));
        Assert.Equal("two", await client.GetValAsync(key));

        using var anonymous = EtcdExtensions.CreateClient(cluster.Endpoints, new EtcdCredentials());
        var refused = await Assert.ThrowsAsync<RpcException>(() => anonymous.GetValAsync(key));
        Assert.Contains("this process has no etcd credentials: set Etcd:User and Etcd:PasswordFile", refused.Status.Detail);

        using var wrong = EtcdExtensions.CreateClient(cluster.Endpoints, new EtcdCredentials { User = "zerodisk", Password = "not-" + password });
        refused = await Assert.ThrowsAsync<RpcException>(() => wrong.GetValAsync(key));
        Assert.Contains("etcd refused to authenticate user 'zerodisk'", refused.Status.Detail);
        Assert.DoesNotContain(password, refused.ToString());
    }
}
