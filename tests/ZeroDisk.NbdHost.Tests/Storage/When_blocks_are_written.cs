using ZeroDisk.Storage;
using ZeroDisk.NbdHost.Tests.Harness;

namespace ZeroDisk.NbdHost.Tests.Storage;

/// <summary>Block placement and the Redis key schema, checked with a plain Redis client on every engine.</summary>
public sealed class When_blocks_are_written : IAsyncLifetime
{
    private StorageHarness _h = null!;

    public async Task InitializeAsync() => _h = await StorageHarness.StartAsync(shards: 2);

    public async Task DisposeAsync() => await _h.DisposeAsync();

    [Fact]
    public async Task Each_block_is_on_its_shard_on_both_primary_and_slave_and_nowhere_else()
    {
        const int blocks = 6;
        var bs = _h.BlockSize;
        var data = new byte[blocks * bs];
        for (var i = 0; i < blocks; i++) TestBlocks.Content(i, bs).CopyTo(data, i * bs);

        await _h.Vdisk.WriteAsync(0, data, fua: false, default);

        for (var i = 0; i < blocks; i++)
        {
            var shard = i % 2;
            foreach (var side in new[] { ClusterSide.Primary, ClusterSide.Slave })
            {
                Assert.Equal(TestBlocks.Content(i, bs), (byte[]?)await _h.Inspect(_h.Engines(side)[shard]).HashGetAsync(_h.BlocksKey, i));
                Assert.False(await _h.Inspect(_h.Engines(side)[1 - shard]).HashExistsAsync(_h.BlocksKey, i));
            }
        }
        var back = new byte[data.Length];
        await _h.Vdisk.ReadAsync(0, back, default);
        Assert.Equal(data, back);
    }

    [Fact]
    public async Task An_all_zero_block_is_deleted_and_reads_as_zeroes()
    {
        var bs = _h.BlockSize;
        await _h.Vdisk.WriteAsync(3L * bs, TestBlocks.Content(3, bs), false, default);
        Assert.True(await _h.Inspect(_h.Clusters.Primary[1]).HashExistsAsync(_h.BlocksKey, 3));

        await _h.Vdisk.WriteAsync(3L * bs, new byte[bs], false, default);

        Assert.False(await _h.Inspect(_h.Clusters.Primary[1]).HashExistsAsync(_h.BlocksKey, 3));
        Assert.False(await _h.Inspect(_h.Clusters.Slave[1]).HashExistsAsync(_h.BlocksKey, 3));
        var back = TestBlocks.Content(9, bs);
        await _h.Vdisk.ReadAsync(3L * bs, back, default);
        Assert.All(back, b => Assert.Equal(0, b));
    }

    [Fact]
    public async Task Write_zeroes_and_trim_delete_whole_blocks_and_zero_partial_ones()
    {
        var bs = _h.BlockSize;
        var data = new byte[4 * bs];
        for (var i = 0; i < 4; i++) TestBlocks.Content(i, bs).CopyTo(data, i * bs);
        await _h.Vdisk.WriteAsync(0, data, false, default);

        // Zero the second half of block 0 and all of block 1; trim block 2 whole.
        await _h.Vdisk.WriteZeroesAsync(bs / 2, bs + bs / 2, noHole: false, fua: false, default);
        await _h.Vdisk.TrimAsync(2L * bs, bs, fua: false, default);

        Array.Clear(data, bs / 2, bs + bs / 2 + bs);
        var back = new byte[4 * bs];
        await _h.Vdisk.ReadAsync(0, back, default);
        Assert.Equal(data, back);
        Assert.False(await _h.Inspect(_h.Clusters.Primary[1]).HashExistsAsync(_h.BlocksKey, 1));
        Assert.False(await _h.Inspect(_h.Clusters.Primary[0]).HashExistsAsync(_h.BlocksKey, 2));
    }

    [Fact]
    public async Task Concurrent_partial_writes_to_one_block_all_survive()
    {
        var bs = _h.BlockSize;
        const int sector = 512;
        var expected = new byte[bs];
        // 8 sectors of one block, each written by its own concurrent request, several rounds over.
        for (var round = 0; round < 5; round++)
        {
            var writes = Enumerable.Range(0, bs / sector).Select(s =>
            {
                var bytes = TestBlocks.Content(s, sector, round + 10);
                bytes.CopyTo(expected, s * sector);
                return _h.Vdisk.WriteAsync(5L * bs + s * sector, bytes, false, default).AsTask();
            }).ToList();
            await Task.WhenAll(writes);
        }
        var back = new byte[bs];
        await _h.Vdisk.ReadAsync(5L * bs, back, default);
        Assert.Equal(expected, back);
        Assert.Equal(expected, (byte[]?)await _h.Inspect(_h.Clusters.Slave[1]).HashGetAsync(_h.BlocksKey, 5));
    }

    [Fact]
    public async Task A_range_outside_the_vdisk_is_refused_with_einval()
    {
        var ex = await Assert.ThrowsAsync<StorageIoException>(() => _h.Vdisk.ReadAsync(_h.Vdisk.Size - 512, new byte[1024], default).AsTask());
        Assert.Equal(StorageError.OutOfRange, ex.Error);
    }
}
