using Google.Protobuf;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.NbdHost.Tests.Configuration;

/// <summary>
/// The server follows etcd without a restart, and a bad value (bad JSON, invalid config) is rejected with a log
/// line naming the key while the last good config stays in force and I/O goes on.
/// </summary>
public sealed class When_etcd_config_changes : StorageHarnessTest
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task A_vdisk_added_to_the_server_list_becomes_exportable()
    {
        var added = TestNames.Unique("vd");
        await H.Etcd.PutJsonAsync(EtcdKeys.VdiskStaticConfig(added), new VdiskStaticConfig(4096, false, 2, "db"));
        await H.Etcd.PutJsonAsync(EtcdKeys.VdiskNbdConfig(added), new VdiskNbdConfig(H.PrimaryClusterId, H.SlaveClusterId));
        Assert.DoesNotContain(H.Catalog.List(), e => e.Name == added);

        await H.Etcd.PutJsonAsync(EtcdKeys.NbdServerVdisks(H.ServerId), new NbdServerVdisksConfig([H.VdiskId, added]));

        await StorageHarness.WaitUntilAsync(() => H.Catalog.List().Any(e => e.Name == added), Timeout, "the new vdisk to be listed");
        var export = await H.Catalog.OpenAsync(added, default);
        Assert.NotNull(export);
        Assert.Equal(2L << 30, export.Size);
        await export.WriteAsync(4096, TestBlocks.Content(1, 4096), false, default);
        Assert.Equal(TestBlocks.Content(1, 4096), (byte[]?)await H.Inspect(H.Clusters.Slave[1]).HashGetAsync(RedisKeys.Blocks(added), 1));
        await H.Etcd.DeleteAsync(EtcdKeys.VdiskStaticConfig(added));
        await H.Etcd.DeleteAsync(EtcdKeys.VdiskNbdConfig(added));
    }

    [Fact]
    public async Task Malformed_json_is_rejected_and_the_last_good_config_stays()
    {
        var key = EtcdKeys.VdiskStaticConfig(H.VdiskId);
        await H.Etcd.PutAsync(key, "{\"blockSize\": 4096, \"size\": ");

        await WaitForRejectionAsync(key);
        Assert.Equal(1L << 30, H.Vdisk.Size);
        await H.Vdisk.WriteAsync(0, TestBlocks.Content(0, 4096), false, default);
    }

    [Fact]
    public async Task A_block_size_that_is_not_a_power_of_two_is_rejected()
    {
        var key = EtcdKeys.VdiskStaticConfig(H.VdiskId);
        await H.Etcd.PutJsonAsync(key, new VdiskStaticConfig(3000, false, 1, "db"));

        var line = await WaitForRejectionAsync(key);
        Assert.Contains("power of two", line);
        Assert.Equal(4096, H.Vdisk.BlockSize);
    }

    [Fact]
    public async Task A_cluster_with_no_servers_is_rejected()
    {
        var key = EtcdKeys.StorageClusterConfig(H.PrimaryClusterId);
        await H.Etcd.PutAsync(key, "{\"servers\": []}");

        await WaitForRejectionAsync(key);
        Assert.Equal(2, H.Vdisk.Topology.ShardCount);
        await H.Vdisk.WriteAsync(0, TestBlocks.Content(0, 4096), false, default);
        Assert.Equal(TestBlocks.Content(0, 4096), (byte[]?)await H.Inspect(H.Clusters.Primary[0]).HashGetAsync(H.BlocksKey, 0));
    }

    [Fact]
    public async Task A_slave_cluster_of_a_different_size_is_rejected()
    {
        var key = EtcdKeys.StorageClusterConfig(H.SlaveClusterId);
        await H.Etcd.PutJsonAsync(key, new StorageClusterConfig([new StorageServerConfig(H.Clusters.Slave[0].Address)]));

        var line = await WaitForRejectionAsync(key);
        Assert.Contains("same size", line);
        Assert.Equal(H.Clusters.Slave[1].Address, H.Vdisk.Topology.Slot(1, ClusterSide.Slave).Address);
    }

    [Fact]
    public async Task A_vdisk_whose_first_config_is_invalid_is_not_exported()
    {
        var bad = TestNames.Unique("vd");
        var key = EtcdKeys.VdiskStaticConfig(bad);
        await H.Etcd.PutJsonAsync(key, new VdiskStaticConfig(1000, false, 1, "db"));
        await H.Etcd.PutJsonAsync(EtcdKeys.VdiskNbdConfig(bad), new VdiskNbdConfig(H.PrimaryClusterId, H.SlaveClusterId));
        await H.Etcd.PutJsonAsync(EtcdKeys.NbdServerVdisks(H.ServerId), new NbdServerVdisksConfig([H.VdiskId, bad]));

        await WaitForRejectionAsync(key);
        Assert.Null(await H.Catalog.OpenAsync(bad, default));
        Assert.NotNull(await H.Catalog.OpenAsync(H.VdiskId, default));
        await H.Etcd.DeleteAsync(key);
        await H.Etcd.DeleteAsync(EtcdKeys.VdiskNbdConfig(bad));
    }

    private async Task<string> WaitForRejectionAsync(string key)
    {
        string? line = null;
        await StorageHarness.WaitUntilAsync(() => (line = H.Logs.Lines.FirstOrDefault(l => l.StartsWith("Error", StringComparison.Ordinal) && l.Contains(key))) is not null,
            Timeout, $"a rejection naming {key}");
        return line!;
    }
}
