using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using StackExchange.Redis;
using Xunit.Abstractions;
using ZeroDisk.ServiceDefaults.Engines;
using ZeroDisk.ServiceDefaults.Etcd;
using ZeroDisk.Testing;

namespace ZeroDisk.Infrastructure.Tests;

/// <summary>
/// Issue 21: an engine that listens with TLS only (<c>--port 0 --tls-port</c>, client certificates required) and a
/// three-member etcd on https (<c>--client-cert-auth</c>; three, so the raw channel's balancer runs over TLS), with certificates from <c>scripts/lib/store-pki.sh</c> as
/// <c>scripts/infra.sh up --tls</c> makes them. The clients every service uses (<see cref="EngineConnection"/>,
/// dotnet-etcd's through <see cref="EtcdExtensions.CreateClient"/>, the raw gRPC <see cref="EtcdChannel"/>) work with
/// the CA and the client certificate; a plaintext client, one that trusts another CA (a server it cannot verify), and
/// one whose certificate another CA signed (a client the server cannot verify) get nothing from either.
/// </summary>
public class When_engines_and_etcd_require_tls(ITestOutputHelper output)
{
    private static readonly TimeSpan RefusalDeadline = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Clients_of_the_ca_read_and_write_and_every_other_client_is_refused()
    {
        using var pki = await StorePki.CreateAsync("zerodisk-test-store-ca");
        using var other = await StorePki.CreateAsync("another-ca");
        var good = pki.EngineClient();

        await using var engine = await RedisServerProcess.StartAsync(credentials: good, tls: pki.Server(clientCertificates: true));
        await using (var redis = await EngineConnection.ConnectAsync($"{engine.Address},abortConnect=true", good))
        {
            var key = TestNames.Unique("tls");
            await redis.GetDatabase().StringSetAsync(key, "over tls");
            Assert.Equal("over tls", (string?)await redis.GetDatabase().StringGetAsync(key));
        }
        var refusedEngine = new (string Who, EngineCredentials Credentials)[]
        {
            ("plaintext", new EngineCredentials()),
            ("trusting another CA", new EngineCredentials { UseTls = true, CaFile = other.CaFile, CertificateFile = pki.ClientCertificateFile, KeyFile = pki.ClientKeyFile }),
            ("with another CA's certificate", new EngineCredentials { UseTls = true, CaFile = pki.CaFile, CertificateFile = other.ClientCertificateFile, KeyFile = other.ClientKeyFile }),
            ("without a certificate", pki.EngineClient(withCertificate: false)),
        };
        foreach (var (who, credentials) in refusedEngine)
        {
            var error = await Record.ExceptionAsync(async () =>
            {
                await using var redis = await EngineConnection.ConnectAsync($"{engine.Address},abortConnect=true,connectRetry=0,connectTimeout=5000", credentials);
                await redis.GetDatabase().PingAsync();
            });
            Assert.True(error is RedisConnectionException or RedisTimeoutException, $"a client {who} got {error?.GetType().Name ?? "through"}: {error?.Message}");
            output.WriteLine($"engine, client {who}: {error!.GetType().Name}: {error.Message}");
        }

        await using var etcd = await EtcdClusterProcess.StartAsync(members: 3, pki.Server(clientCertificates: true), pki.EtcdClient());
        Assert.StartsWith("https://", etcd.Endpoints);
        var etcdKey = TestNames.Unique("it/tls");
        using (var client = EtcdExtensions.CreateClient(etcd.Endpoints, pki.EtcdClient()))
        {
            await client.PutAsync(etcdKey, "over https");
            Assert.Equal("over https", await client.GetValAsync(etcdKey));
        }
        // The raw channel of leases, claims and watches (its own handler, its own CA check).
        using (var channel = EtcdChannel.Create(etcd.Endpoints, pki.EtcdClient()))
        {
            var lease = await new Lease.LeaseClient(channel).LeaseGrantAsync(new LeaseGrantRequest { TTL = 30 });
            Assert.True(lease.ID != 0);
            var range = await new KV.KVClient(channel).RangeAsync(new RangeRequest { Key = ByteString.CopyFromUtf8(etcdKey) });
            Assert.Equal("over https", range.Kvs.Single().Value.ToStringUtf8());
        }
        var refusedEtcd = new (string Who, string Endpoints, EtcdCredentials Credentials)[]
        {
            ("plaintext", etcd.Endpoints.Replace("https://", "http://"), new EtcdCredentials()),
            ("trusting another CA", etcd.Endpoints, new EtcdCredentials { CaFile = other.CaFile, CertificateFile = pki.ClientCertificateFile, KeyFile = pki.ClientKeyFile }),
            ("with another CA's certificate", etcd.Endpoints, new EtcdCredentials { CaFile = pki.CaFile, CertificateFile = other.ClientCertificateFile, KeyFile = other.ClientKeyFile }),
            ("without a certificate", etcd.Endpoints, pki.EtcdClient(withCertificate: false)),
        };
        foreach (var (who, endpoints, credentials) in refusedEtcd)
        {
            using var client = EtcdExtensions.CreateClient(endpoints, credentials);
            var error = await Record.ExceptionAsync(() => client.GetValAsync(etcdKey, deadline: DateTime.UtcNow + RefusalDeadline));
            Assert.True(error is RpcException, $"a dotnet-etcd client {who} got {error?.GetType().Name ?? "through"}: {error?.Message}");
            output.WriteLine($"etcd, dotnet-etcd client {who}: {error!.Message}");
            using var channel = EtcdChannel.Create(endpoints, credentials);
            error = await Record.ExceptionAsync(async () => await new KV.KVClient(channel)
                .RangeAsync(new RangeRequest { Key = ByteString.CopyFromUtf8(etcdKey) }, deadline: DateTime.UtcNow + RefusalDeadline));
            Assert.True(error is RpcException, $"a raw gRPC client {who} got {error?.GetType().Name ?? "through"}: {error?.Message}");
            output.WriteLine($"etcd, raw gRPC client {who}: {error!.Message}");
        }
    }
}
