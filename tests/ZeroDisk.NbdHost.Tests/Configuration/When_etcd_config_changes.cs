using Google.Protobuf;
using ZeroDisk.Contracts;
using ZeroDisk.Storage;
using ZeroDisk.NbdHost.Tests.Harness;
using ZeroDisk.ServiceDefaults.Etcd;
using ZeroDisk.Testing;

namespace ZeroDisk.NbdHost.Tests.Configuration;

/// <summary>
/// The server follows etcd without a restart, and a bad value (bad JSON, invalid config) is rejected with a log
/// line naming the key while the last good config stays in force and I/O goes on.
/// </summary>
public sealed class When_etcd_config_changes : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private StorageHarness _h = null!;

    public async Task InitializeAsync() => _h = await StorageHarness.StartAsync(shards: 2);

    public async Task DisposeAsync() => await _h.DisposeAsync();

    [Fact]
    public async Task A_vdisk_added_to_the_server_list_becomes_exportable()
    {
        var added = TestNames.Unique("vd");
        await _h.Etcd.PutJsonAsync(EtcdKeys.VdiskStaticConfig(added), new VdiskStaticConfig(4096, false, 2, "db"));
        await _h.Etcd.PutJsonAsync(EtcdKeys.VdiskNbdConfig(added), new VdiskNbdConfig(_h.PrimaryClusterId, _h.SlaveClusterId));
        Assert.DoesNotContain(_h.Catalog.List(), e => e.Name == added);

        await _h.Etcd.PutJsonAsync(EtcdKeys.NbdServerVdisks(_h.ServerId), new NbdServerVdisksConfig([_h.VdiskId, added]));

        await StorageHarness.WaitUntilAsync(() => _h.Catalog.List().Any(e => e.Name == added), Timeout, "the new vdisk to be listed");
        var export = await _h.Catalog.OpenAsync(added, default);
        Assert.NotNull(export);
        Assert.Equal(2L << 30, export.Size);
        await export.WriteAsync(4096, TestBlocks.Content(1, 4096), false, default);
        Assert.Equal(TestBlocks.Content(1, 4096), (byte[]?)await _h.Inspect(_h.Clusters.Slave[1]).HashGetAsync(RedisKeys.Blocks(added), 1));
        await _h.Etcd.DeleteAsync(EtcdKeys.VdiskStaticConfig(added));
        await _h.Etcd.DeleteAsync(EtcdKeys.VdiskNbdConfig(added));
    }

    [Fact]
    public async Task Malformed_json_is_rejected_and_the_last_good_config_stays()
    {
        var key = EtcdKeys.VdiskStaticConfig(_h.VdiskId);
        await _h.Etcd.PutAsync(key, "{\"blockSize\": 4096, \"size\": ");

        await WaitForRejectionAsync(key);
        Assert.Equal(1L << 30, _h.Vdisk.Size);
        await _h.Vdisk.WriteAsync(0, TestBlocks.Content(0, 4096), false, default);
    }

    [Fact]
    public async Task A_block_size_that_is_not_a_power_of_two_is_rejected()
    {
        var key = EtcdKeys.VdiskStaticConfig(_h.VdiskId);
        await _h.Etcd.PutJsonAsync(key, new VdiskStaticConfig(3000, false, 1, "db"));

        var line = await WaitForRejectionAsync(key);
        Assert.Contains("power of two", line);
        Assert.Equal(4096, _h.Vdisk.BlockSize);
    }

    [Fact]
    public async Task A_cluster_with_no_servers_is_rejected()
    {
        var key = EtcdKeys.StorageClusterConfig(_h.PrimaryClusterId);
        await _h.Etcd.PutAsync(key, "{\"servers\": []}");

        await WaitForRejectionAsync(key);
        Assert.Equal(2, _h.Vdisk.Topology.ShardCount);
        await _h.Vdisk.WriteAsync(0, TestBlocks.Content(0, 4096), false, default);
        Assert.Equal(TestBlocks.Content(0, 4096), (byte[]?)await _h.Inspect(_h.Clusters.Primary[0]).HashGetAsync(_h.BlocksKey, 0));
    }

    [Fact]
    public async Task A_slave_cluster_of_a_different_size_is_rejected()
    {
        var key = EtcdKeys.StorageClusterConfig(_h.SlaveClusterId);
        await _h.Etcd.PutJsonAsync(key, new StorageClusterConfig([new StorageServerConfig(_h.Clusters.Slave[0].Address)]));

        var line = await WaitForRejectionAsync(key);
        Assert.Contains("same size", line);
        Assert.Equal(_h.Clusters.Slave[1].Address, _h.Vdisk.Topology.Slot(1, ClusterSide.Slave).Address);
    }

    [Fact]
    public async Task A_vdisk_whose_first_config_is_invalid_is_not_exported()
    {
        var bad = TestNames.Unique("vd");
        var key = EtcdKeys.VdiskStaticConfig(bad);
        await _h.Etcd.PutJsonAsync(key, new VdiskStaticConfig(1000, false, 1, "db"));
        await _h.Etcd.PutJsonAsync(EtcdKeys.VdiskNbdConfig(bad), new VdiskNbdConfig(_h.PrimaryClusterId, _h.SlaveClusterId));
        await _h.Etcd.PutJsonAsync(EtcdKeys.NbdServerVdisks(_h.ServerId), new NbdServerVdisksConfig([_h.VdiskId, bad]));

        await WaitForRejectionAsync(key);
        Assert.Null(await _h.Catalog.OpenAsync(bad, default));
        Assert.NotNull(await _h.Catalog.OpenAsync(_h.VdiskId, default));
        await _h.Etcd.DeleteAsync(key);
        await _h.Etcd.DeleteAsync(EtcdKeys.VdiskNbdConfig(bad));
    }

    private async Task<string> WaitForRejectionAsync(string key)
    {
        string? line = null;
        await StorageHarness.WaitUntilAsync(() => (line = _h.Logs.Lines.FirstOrDefault(l => l.StartsWith("Error", StringComparison.Ordinal) && l.Contains(key))) is not null,
            Timeout, $"a rejection naming {key}");
        return line!;
    }
}
