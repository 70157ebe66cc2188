using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using ZeroDisk.Tlog;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.NbdHost.Tests.Storage;

/// <summary>
/// Fault-checker seed 2062: both tlog servers a vdisk's journal needed were killed (and not restarted while the broker
/// was down), and the FLUSHes of another vdisk of the same NBD server failed too: the journal's flush made every
/// vdisk's tlog durable, not only the flushed vdisk's. Two vdisks on real tlog servers of their own: the one whose
/// server is gone fails its flush; the other's flush is unaffected.
/// </summary>
public sealed class When_one_vdisks_tlog_loses_its_quorum : IAsyncLifetime
{
    private readonly (string Vdisk, string Cluster, string Directory)[] _vdisks =
        [.. Enumerable.Range(0, 2).Select(_ => (TestNames.Unique("vd"), TestNames.Unique("tlog"), Path.Combine(Path.GetTempPath(), "zd-tlog-quorum-" + Guid.NewGuid().ToString("N")[..8])))];
    private readonly TlogServer?[] _servers = new TlogServer?[2];
    private dotnet_etcd.EtcdClient _etcd = null!;

    public async Task InitializeAsync()
    {
        var infra = await SharedInfrastructure.GetAsync();
        _etcd = EtcdExtensions.CreateClient(infra.EtcdEndpoints);
        for (var i = 0; i < 2; i++)
        {
            var server = _servers[i] = new TlogServer(_vdisks[i].Directory, NullLogger.Instance);
            server.Start(new IPEndPoint(IPAddress.Loopback, 0));
            await _etcd.PutJsonAsync(EtcdKeys.VdiskNbdConfig(_vdisks[i].Vdisk), new VdiskNbdConfig("p", "s", _vdisks[i].Cluster));
            await _etcd.PutJsonAsync(EtcdKeys.TlogClusterConfig(_vdisks[i].Cluster), new TlogClusterConfig([$"127.0.0.1:{server.LocalEndPoint!.Port}"]));
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var (vdisk, cluster, directory) in _vdisks)
        {
            await _etcd.DeleteAsync(EtcdKeys.VdiskNbdConfig(vdisk));
            await _etcd.DeleteAsync(EtcdKeys.TlogClusterConfig(cluster));
            if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
        }
        foreach (var server in _servers)
            if (server is not null) await server.DisposeAsync();
        _etcd.Dispose();
    }

    [Fact]
    public async Task Seed_2062_only_that_vdisks_flushes_fail()
    {
        var block = Enumerable.Repeat((byte)0x42, 4096).ToArray();
        var (lost, kept) = (_vdisks[0].Vdisk, _vdisks[1].Vdisk);
        await using var journal = new TlogWriteJournal(_etcd, new TlogJournalOptions { RequiredAcks = 1, FlushTimeout = TimeSpan.FromSeconds(3) },
            NullLogger<TlogWriteJournal>.Instance);
        await journal.AppendAsync(lost, 1, 0, block);
        await journal.AppendAsync(kept, 1, 0, block);
        await journal.FlushAsync(lost);
        await journal.FlushAsync(kept);

        await _servers[0]!.DisposeAsync();
        _servers[0] = null;
        try
        {
            await journal.AppendAsync(lost, 1, 1, block);
        }
        catch (IOException)
        {
            // Refused at once (no server reachable) or buffered: either way its flush cannot succeed.
        }
        await journal.AppendAsync(kept, 1, 1, block);

        await journal.FlushAsync(kept);
        await Assert.ThrowsAnyAsync<IOException>(async () => await journal.FlushAsync(lost));
    }
}
