using ZeroDisk.Contracts;
using ZeroDisk.Storage;
using ZeroDisk.NbdHost.Tests.Harness;
using ZeroDisk.ServiceDefaults.Etcd;
using ZeroDisk.Testing;

namespace ZeroDisk.NbdHost.Tests.Configuration;

/// <summary>
/// Issue #15 item 9: blocks are placed by shard count and block size, so the layout a vdisk's data was written with is
/// recorded on its engines (<see cref="RedisKeys.VdiskRecord"/>) and a server refuses to open the vdisk under another
/// one — not only while it is open. A size whose bytes overflow a long is rejected like any invalid config.
/// </summary>
public sealed class When_a_vdisk_layout_is_checked : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private StorageHarness _h = null!;

    public async Task InitializeAsync() => _h = await StorageHarness.StartAsync(shards: 2);

    public async Task DisposeAsync() => await _h.DisposeAsync();

    [Fact]
    public async Task A_shard_count_changed_while_the_vdisk_was_closed_is_refused_until_it_is_restored()
    {
        await _h.WriteRandomBlocksAsync(8);
        foreach (var engine in _h.Clusters.Primary.Concat(_h.Clusters.Slave))
            Assert.Equal("2", await _h.Inspect(engine).HashGetAsync(RedisKeys.VdiskRecord(_h.VdiskId), "shards"));
        await _h.StopServerAsync();

        // One server less on each side: block 1 would be looked for on shard 0.
        await ShrinkClustersAsync(1);
        await _h.StartServerAsync();
        await StorageHarness.WaitUntilAsync(() => _h.Logs.Lines.Any(l => l.Contains("written over 2 shards", StringComparison.Ordinal)), Timeout, "the refusal");
        Assert.Null(_h.Catalog.Find(_h.VdiskId));

        // Back to the size the data was written with: exported again at the next reading of etcd.
        await ShrinkClustersAsync(2);
        await StorageHarness.WaitUntilAsync(() => _h.Catalog.Find(_h.VdiskId) is not null, Timeout, "the vdisk exported again");
    }

    [Fact]
    public async Task A_size_whose_bytes_overflow_is_rejected_with_a_clear_error()
    {
        var tooLarge = new VdiskStaticConfig(4096, false, ConfigValidation.MaxSizeGiB + 1, "db");
        Assert.Contains(ConfigValidation.Validate(tooLarge), e => e.Contains("too large", StringComparison.Ordinal));
        Assert.Empty(ConfigValidation.Validate(tooLarge with { Size = ConfigValidation.MaxSizeGiB }));
        Assert.Throws<OverflowException>(() => tooLarge.SizeBytes);

        var key = EtcdKeys.VdiskStaticConfig(_h.VdiskId);
        await _h.Etcd.PutJsonAsync(key, tooLarge);
        await StorageHarness.WaitUntilAsync(() => _h.Logs.Lines.Any(l => l.Contains(key, StringComparison.Ordinal) && l.Contains("too large", StringComparison.Ordinal)),
            Timeout, "the rejection");
        Assert.Equal(1L << 30, _h.Vdisk.Size); // the last good config stays
    }

    private Task ShrinkClustersAsync(int shards) => Task.WhenAll(
        _h.Etcd.PutJsonAsync(EtcdKeys.StorageClusterConfig(_h.PrimaryClusterId), new StorageClusterConfig(_h.Clusters.Primary.Take(shards).Select(e => new StorageServerConfig(e.Address)).ToList())),
        _h.Etcd.PutJsonAsync(EtcdKeys.StorageClusterConfig(_h.SlaveClusterId), new StorageClusterConfig(_h.Clusters.Slave.Take(shards).Select(e => new StorageServerConfig(e.Address)).ToList())));
}
