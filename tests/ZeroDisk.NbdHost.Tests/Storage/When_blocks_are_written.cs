namespace ZeroDisk.NbdHost.Tests.Storage;

/// <summary>Block placement and the Redis key schema, checked with a plain Redis client on every engine.</summary>
public sealed class When_blocks_are_written : StorageHarnessTest
{
    [Fact]
    public async Task Each_block_is_on_its_shard_on_both_primary_and_slave_and_nowhere_else()
    {
        const int blocks = 6;
        var bs = H.BlockSize;
        var data = new byte[blocks * bs];
        for (var i = 0; i < blocks; i++) TestBlocks.Content(i, bs).CopyTo(data, i * bs);

        await H.Vdisk.WriteAsync(0, data, fua: false, default);

        for (var i = 0; i < blocks; i++)
        {
            var shard = i % 2;
            foreach (var side in new[] { ClusterSide.Primary, ClusterSide.Slave })
            {
                Assert.Equal(TestBlocks.Content(i, bs), (byte[]?)await H.Inspect(H.Engines(side)[shard]).HashGetAsync(H.BlocksKey, i));
                Assert.False(await H.Inspect(H.Engines(side)[1 - shard]).HashExistsAsync(H.BlocksKey, i));
            }
        }
        var back = new byte[data.Length];
        await H.Vdisk.ReadAsync(0, back, default);
        Assert.Equal(data, back);
    }

    [Fact]
    public async Task An_all_zero_block_is_deleted_and_reads_as_zeroes()
    {
        var bs = H.BlockSize;
        await H.Vdisk.WriteAsync(3L * bs, TestBlocks.Content(3, bs), false, default);
        Assert.True(await H.Inspect(H.Clusters.Primary[1]).HashExistsAsync(H.BlocksKey, 3));

        await H.Vdisk.WriteAsync(3L * bs, new byte[bs], false, default);

        Assert.False(await H.Inspect(H.Clusters.Primary[1]).HashExistsAsync(H.BlocksKey, 3));
        Assert.False(await H.Inspect(H.Clusters.Slave[1]).HashExistsAsync(H.BlocksKey, 3));
        var back = TestBlocks.Content(9, bs);
        await H.Vdisk.ReadAsync(3L * bs, back, default);
        Assert.All(back, b => Assert.Equal(0, b));
    }

    [Fact]
    public async Task Write_zeroes_and_trim_delete_whole_blocks_and_zero_partial_ones()
    {
        var bs = H.BlockSize;
        var data = new byte[4 * bs];
        for (var i = 0; i < 4; i++) TestBlocks.Content(i, bs).CopyTo(data, i * bs);
        await H.Vdisk.WriteAsync(0, data, false, default);

        // Zero the second half of block 0 and all of block 1; trim block 2 whole.
        await H.Vdisk.WriteZeroesAsync(bs / 2, bs + bs / 2, noHole: false, fua: false, default);
        await H.Vdisk.TrimAsync(2L * bs, bs, fua: false, default);

        Array.Clear(data, bs / 2, bs + bs / 2 + bs);
        var back = new byte[4 * bs];
        await H.Vdisk.ReadAsync(0, back, default);
        Assert.Equal(data, back);
        Assert.False(await H.Inspect(H.Clusters.Primary[1]).HashExistsAsync(H.BlocksKey, 1));
        Assert.False(await H.Inspect(H.Clusters.Primary[0]).HashExistsAsync(H.BlocksKey, 2));
    }

    [Fact]
    public async Task Concurrent_partial_writes_to_one_block_all_survive()
    {
        var bs = H.BlockSize;
        const int sector = 512;
        var expected = new byte[bs];
        // 8 sectors of one block, each written by its own concurrent request, several rounds over.
        for (var round = 0; round < 5; round++)
        {
            var writes = Enumerable.Range(0, bs / sector).Select(s =>
            {
                var bytes = TestBlocks.Content(s, sector, round + 10);
                bytes.CopyTo(expected, s * sector);
                return H.Vdisk.WriteAsync(5L * bs + s * sector, bytes, false, default).AsTask();
            }).ToList();
            await Task.WhenAll(writes);
        }
        var back = new byte[bs];
        await H.Vdisk.ReadAsync(5L * bs, back, default);
        Assert.Equal(expected, back);
        Assert.Equal(expected, (byte[]?)await H.Inspect(H.Clusters.Slave[1]).HashGetAsync(H.BlocksKey, 5));
    }

    [Fact]
    public async Task A_range_outside_the_vdisk_is_refused_with_einval()
    {
        var ex = await Assert.ThrowsAsync<StorageIoException>(() => H.Vdisk.ReadAsync(H.Vdisk.Size - 512, new byte[1024], default).AsTask());
        Assert.Equal(StorageError.OutOfRange, ex.Error);
    }
}
