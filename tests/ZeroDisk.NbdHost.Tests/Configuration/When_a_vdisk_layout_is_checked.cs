using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.NbdHost.Tests.Configuration;

/// <summary>
/// Blocks are placed by shard count and block size, so the layout a vdisk's data was written with is
/// recorded on its engines (<see cref="RedisKeys.VdiskRecord"/>) and a server refuses to open the vdisk under another
/// one — not only while it is open. A size whose bytes overflow a long is rejected like any invalid config.
/// </summary>
public sealed class When_a_vdisk_layout_is_checked : StorageHarnessTest
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_shard_count_changed_while_the_vdisk_was_closed_is_refused_until_it_is_restored()
    {
        await H.WriteRandomBlocksAsync(8);
        foreach (var engine in H.Clusters.Primary.Concat(H.Clusters.Slave))
            Assert.Equal("2", await H.Inspect(engine).HashGetAsync(RedisKeys.VdiskRecord(H.VdiskId), "shards"));
        await H.StopServerAsync();

        // One server less on each side: block 1 would be looked for on shard 0.
        await ShrinkClustersAsync(1);
        await H.StartServerAsync();
        await StorageHarness.WaitUntilAsync(() => H.Logs.Lines.Any(l => l.Contains("written over 2 shards", StringComparison.Ordinal)), Timeout, "the refusal");
        Assert.Null(H.Catalog.Find(H.VdiskId));

        // Back to the size the data was written with: exported again at the next reading of etcd.
        await ShrinkClustersAsync(2);
        await StorageHarness.WaitUntilAsync(() => H.Catalog.Find(H.VdiskId) is not null, Timeout, "the vdisk exported again");
    }

    [Fact]
    public async Task A_size_whose_bytes_overflow_is_rejected_with_a_clear_error()
    {
        var tooLarge = new VdiskStaticConfig(4096, false, ConfigValidation.MaxSizeGiB + 1, "db");
        Assert.Contains(ConfigValidation.Validate(tooLarge), e => e.Contains("too large", StringComparison.Ordinal));
        Assert.Empty(ConfigValidation.Validate(tooLarge with { Size = ConfigValidation.MaxSizeGiB }));
        Assert.Throws<OverflowException>(() => tooLarge.SizeBytes);

        var key = EtcdKeys.VdiskStaticConfig(H.VdiskId);
        await H.Etcd.PutJsonAsync(key, tooLarge);
        await StorageHarness.WaitUntilAsync(() => H.Logs.Lines.Any(l => l.Contains(key, StringComparison.Ordinal) && l.Contains("too large", StringComparison.Ordinal)),
            Timeout, "the rejection");
        Assert.Equal(1L << 30, H.Vdisk.Size); // the last good config stays
    }

    private Task ShrinkClustersAsync(int shards) => Task.WhenAll(
        H.Etcd.PutJsonAsync(EtcdKeys.StorageClusterConfig(H.PrimaryClusterId), new StorageClusterConfig(H.Clusters.Primary.Take(shards).Select(e => new StorageServerConfig(e.Address)).ToList())),
        H.Etcd.PutJsonAsync(EtcdKeys.StorageClusterConfig(H.SlaveClusterId), new StorageClusterConfig(H.Clusters.Slave.Take(shards).Select(e => new StorageServerConfig(e.Address)).ToList())));
}
