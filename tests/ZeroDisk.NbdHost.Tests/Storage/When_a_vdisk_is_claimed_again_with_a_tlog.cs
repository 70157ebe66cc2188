using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using ZeroDisk.Tlog;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.NbdHost.Tests.Storage;

/// <summary>
/// The tlog epoch belongs to an ownership claim, not to the process. A server whose lease lapsed and
/// that claims the vdisk again (a new, higher epoch) journals the new term under the new epoch on a real tlog server;
/// a write of the old term that arrives late is not journaled under either. Before, the epoch was read from etcd once,
/// at the vdisk's first write in the process, and every later claim kept writing under it.
/// </summary>
public sealed class When_a_vdisk_is_claimed_again_with_a_tlog : IAsyncLifetime
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "zd-tlog-claim-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly string _vdisk = TestNames.Unique("vd");
    private readonly string _tlogCluster = TestNames.Unique("tlog");
    private TlogServer _server = null!;
    private dotnet_etcd.EtcdClient _etcd = null!;

    public async Task InitializeAsync()
    {
        _server = new TlogServer(_directory, NullLogger.Instance);
        _server.Start(new IPEndPoint(IPAddress.Loopback, 0));
        var infra = await SharedInfrastructure.GetAsync();
        _etcd = EtcdExtensions.CreateClient(infra.EtcdEndpoints);
        await _etcd.PutJsonAsync(EtcdKeys.VdiskNbdConfig(_vdisk), new VdiskNbdConfig("p", "s", _tlogCluster));
        await _etcd.PutJsonAsync(EtcdKeys.TlogClusterConfig(_tlogCluster), new TlogClusterConfig([$"127.0.0.1:{_server.LocalEndPoint!.Port}"]));
    }

    public async Task DisposeAsync()
    {
        await _etcd.DeleteAsync(EtcdKeys.VdiskNbdConfig(_vdisk));
        await _etcd.DeleteAsync(EtcdKeys.TlogClusterConfig(_tlogCluster));
        _etcd.Dispose();
        await _server.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task Each_claim_journals_under_its_own_epoch()
    {
        var block = Enumerable.Repeat((byte)0x42, 4096).ToArray();
        await using (var journal = new TlogWriteJournal(_etcd, new TlogJournalOptions { RequiredAcks = 1 }, NullLogger<TlogWriteJournal>.Instance))
        {
            await journal.AppendAsync(_vdisk, 5, 0, block);
            await journal.AppendAsync(_vdisk, 5, 1, block);
            await journal.FlushAsync(_vdisk);
            // Claimed again in the same process: epoch 9.
            await journal.AppendAsync(_vdisk, 9, 2, block);
            await journal.FlushAsync(_vdisk);
            await Assert.ThrowsAsync<IOException>(async () => await journal.AppendAsync(_vdisk, 5, 3, block));
        }

        await using var connection = await TlogConnection.ConnectAsync($"127.0.0.1:{_server.LocalEndPoint!.Port}", TimeSpan.FromSeconds(5), CancellationToken.None);
        Assert.Equal(2, await connection.QueryHighestAsync(_vdisk, 5, CancellationToken.None));
        Assert.Equal(1, await connection.QueryHighestAsync(_vdisk, 9, CancellationToken.None));
        Assert.Equal(0, await connection.QueryHighestAsync(_vdisk, 0, CancellationToken.None));
    }
}
