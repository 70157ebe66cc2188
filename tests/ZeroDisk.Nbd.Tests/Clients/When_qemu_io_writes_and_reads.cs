namespace ZeroDisk.Nbd.Tests.Clients;

/// <summary>qemu-io's data path: patterns, flush, discard, write-zeroes, the largest single request.</summary>
public sealed class When_qemu_io_writes_and_reads : IAsyncLifetime
{
    private InMemoryNbdServer _server = null!;

    public Task InitializeAsync()
    {
        _server = InMemoryNbdServer.Start(c => c.Add("vd", 256L << 20));
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Patterns_flush_discard_and_write_zeroes_read_back()
    {
        await RealClientChecks.PatternsFlushDiscardAndWriteZeroesAsync(_server.Uri("vd"));
        _server.AssertNoErrors();
    }

    [Fact]
    public async Task A_single_32_MiB_request_is_served()
    {
        await RealClientChecks.SingleLargestRequestAsync(_server.Uri("vd"), 64L << 20);
        _server.AssertNoErrors();
    }

    [Fact]
    public async Task A_128_MiB_write_zeroes_really_zeroes()
    {
        var export = _server.Catalog["vd"];
        await RealClientChecks.WriteZeroes128MiBAsync(_server.Uri("vd"), 128L << 20,
            filled: () => { Assert.True(export.AllocatedBytes >= 128L << 20); return Task.CompletedTask; },
            zeroed: () => { Assert.True(export.AllocatedBytes < 1L << 20, $"{export.AllocatedBytes} bytes still allocated"); return Task.CompletedTask; });
        _server.AssertNoErrors();
    }
}
