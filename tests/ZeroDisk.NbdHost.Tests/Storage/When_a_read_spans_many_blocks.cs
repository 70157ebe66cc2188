namespace ZeroDisk.NbdHost.Tests.Storage;

/// <summary>
/// A read of several whole blocks asks each shard's engine once for all of its blocks (HMGET) instead of once per
/// block. What it returns must be what block-by-block reads return: every block where it belongs, zeroes for blocks
/// never written or zeroed again, partial blocks at either end, more blocks than one command carries, and the slave's
/// copy when a primary dies under the read.
/// </summary>
public sealed class When_a_read_spans_many_blocks : StorageHarnessTest
{
    private const int Blocks = 300; // more than one command's worth (MaxBlocksInFlight, 128)

    protected override StorageOptions? Options => StorageHarness.TestStorageOptions with { MaxBlocksInFlight = 128 };

    [Fact]
    public async Task Unaligned_reads_return_each_block_in_place_and_zeroes_for_holes()
    {
        var model = await WriteSomeBlocksAsync();
        var expected = model.ExpectedImage();
        var size = (long)Blocks * H.BlockSize;
        (long Offset, int Length)[] ranges =
        [
            (0, (int)size),
            (1, (int)size - 1),
            (H.BlockSize - 7, 5 * H.BlockSize + 13),
            (17L * H.BlockSize + 100, 200 * H.BlockSize),
            (2L * H.BlockSize, 2 * H.BlockSize),
            (size - 3L * H.BlockSize - 1, 3 * H.BlockSize + 1),
        ];
        foreach (var (offset, length) in ranges)
        {
            var read = new byte[length];
            Array.Fill(read, (byte)0xEE); // a byte the read must overwrite everywhere, holes included
            await H.Vdisk.ReadAsync(offset, read, default);
            Assert.True(expected.AsSpan((int)offset, length).SequenceEqual(read), $"read of {length} bytes at {offset} differs from what was written");
        }
    }

    [Fact]
    public async Task A_primary_killed_before_the_read_is_read_around_from_the_slave()
    {
        var model = await WriteSomeBlocksAsync();
        await H.Clusters.Primary[1].KillAsync();

        var read = new byte[Blocks * H.BlockSize];
        await H.Vdisk.ReadAsync(0, read, default);

        Assert.True(model.ExpectedImage().AsSpan().SequenceEqual(read), "the read after the primary's death differs from what was written");
        Assert.Equal([$"{{\"type\": \"storageengine-failure\", \"data\": \"{H.Clusters.Primary[1].Address}\"}}"], H.Events.Lines);
    }

    /// <summary>Every third block left a hole, every seventh written and zeroed again, the rest written once.</summary>
    private async Task<VdiskModel> WriteSomeBlocksAsync()
    {
        var model = new VdiskModel(H.Vdisk, Blocks);
        for (var b = 0; b < Blocks; b++)
        {
            if (b % 3 == 0) continue;
            await model.WriteAsync(b, 1);
            if (b % 7 == 0) await model.ZeroAsync(b);
        }
        return model;
    }
}
