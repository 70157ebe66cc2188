using ZeroDisk.Nbd.Memory;

namespace ZeroDisk.Nbd.Tests.Memory;

/// <summary>The in-memory backend: sparse, exact, safe under concurrent use.</summary>
public sealed class When_an_in_memory_export_is_used
{
    [Fact]
    public async Task A_large_export_costs_only_what_was_written()
    {
        var export = new MemoryExport(64L << 30);
        Assert.Equal(0, export.AllocatedBytes);
        await export.WriteAsync(40L << 30, new byte[] { 1 }, false, CancellationToken.None);
        Assert.Equal(MemoryExport.PageSize, export.AllocatedBytes);

        var read = new byte[3];
        await export.ReadAsync((40L << 30) - 1, read, CancellationToken.None);
        Assert.Equal(new byte[] { 0, 1, 0 }, read);
    }

    [Fact]
    public async Task Zeroing_whole_pages_gives_them_back_and_partial_zeroing_clears_bytes()
    {
        var export = new MemoryExport(1L << 20);
        var data = Enumerable.Repeat((byte)0xaa, 3 * MemoryExport.PageSize).ToArray();
        await export.WriteAsync(100, data, false, CancellationToken.None);
        Assert.Equal(4 * MemoryExport.PageSize, export.AllocatedBytes);

        await export.WriteZeroesAsync(MemoryExport.PageSize, 2 * MemoryExport.PageSize + 50, noHole: false, fua: false, CancellationToken.None);
        Assert.Equal(2 * MemoryExport.PageSize, export.AllocatedBytes);

        var back = new byte[data.Length];
        await export.ReadAsync(100, back, CancellationToken.None);
        for (var i = 0; i < back.Length; i++)
        {
            var absolute = 100 + i;
            var zeroed = absolute >= MemoryExport.PageSize && absolute < 3 * MemoryExport.PageSize + 50;
            Assert.Equal(zeroed ? 0 : 0xaa, back[i]);
        }
    }

    [Fact]
    public async Task Concurrent_writers_on_shared_pages_each_keep_their_bytes()
    {
        var export = new MemoryExport(4L << 20);
        await Parallel.ForAsync(0, 4096, async (i, ct) =>
        {
            var value = new byte[1000];
            Array.Fill(value, (byte)(i % 255 + 1));
            await export.WriteAsync(i * 1000L, value, false, ct);
            if (i % 7 == 0) await export.WriteZeroesAsync(i * 1000L + 10, 5, false, false, ct);
        });
        var all = new byte[4096 * 1000];
        await export.ReadAsync(0, all, CancellationToken.None);
        for (var i = 0; i < 4096; i++)
            for (var j = 0; j < 1000; j++)
                Assert.Equal(i % 7 == 0 && j is >= 10 and < 15 ? 0 : i % 255 + 1, all[i * 1000 + j]);
    }

    [Fact]
    public async Task Out_of_range_and_read_only_calls_are_refused()
    {
        var export = new MemoryExport(4096, readOnly: true);
        var error = await Assert.ThrowsAsync<NbdIoException>(async () => await export.ReadAsync(4000, new byte[200], CancellationToken.None));
        Assert.Equal(NbdError.EINVAL, error.Error);
        error = await Assert.ThrowsAsync<NbdIoException>(async () => await export.WriteAsync(0, new byte[1], false, CancellationToken.None));
        Assert.Equal(NbdError.EPERM, error.Error);
    }
}
