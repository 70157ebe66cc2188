using ZeroDisk.Nbd.Tests.Support;
using ZeroDisk.Testing;

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
        await NbdClients.QemuIoAsync(_server.Uri("vd"),
            "write -P 0xab 0 64k", "read -P 0xab 0 64k", "flush",
            "write -P 0xcd 64k 64k", "discard 0 64k", "read -P 0 0 64k", "read -P 0xcd 64k 64k",
            "write -P 0xee 200k 8k", "write -z 200k 4k", "read -P 0 200k 4k", "read -P 0xee 204k 4k",
            "write -f -P 0x11 1M 4k", "read -P 0x11 1M 4k");
        _server.AssertNoErrors();
    }

    [Fact]
    public async Task A_single_32_MiB_request_is_served()
    {
        await NbdClients.QemuIoAsync(_server.Uri("vd"), "write -P 1 64M 32M", "read -P 1 64M 32M");
    }

    [Fact]
    public async Task A_128_MiB_write_zeroes_really_zeroes()
    {
        await NbdClients.QemuIoAsync(_server.Uri("vd"), "write -P 0x77 128M 128M");
        Assert.True(_server.Catalog["vd"].AllocatedBytes >= 128L << 20);
        await NbdClients.QemuIoAsync(_server.Uri("vd"), "write -z 128M 128M", "read -P 0 128M 128M");
    }
}
