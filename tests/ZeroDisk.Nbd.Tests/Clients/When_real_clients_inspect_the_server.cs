namespace ZeroDisk.Nbd.Tests.Clients;

/// <summary>nbdinfo and qemu-img see the exports, their size, flags and block sizes, over TCP and the unix socket.</summary>
public sealed class When_real_clients_inspect_the_server : IAsyncLifetime
{
    private InMemoryNbdServer _server = null!;

    public Task InitializeAsync()
    {
        _server = InMemoryNbdServer.Start(c =>
        {
            c.Add("vd-data", 64L << 20, blockSize: 4096);
            c.Add("vd-ro", 8L << 20, blockSize: 512, readOnly: true);
        });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Nbdinfo_lists_every_export()
    {
        var names = await NbdClients.ListExportsAsync($"nbd://127.0.0.1:{_server.Port}");
        Assert.Equal(["vd-data", "vd-ro"], names.Order().ToArray());
        _server.AssertNoErrors();
    }

    [Fact]
    public async Task Nbdinfo_json_shows_size_flags_and_block_sizes()
    {
        var info = await NbdClients.InfoAsync(_server.Uri("vd-data"));
        Assert.Equal(64L << 20, info.GetProperty("export-size").GetInt64());
        Assert.False(info.GetProperty("is_read_only").GetBoolean());
        foreach (var flag in new[] { "can_flush", "can_fua", "can_trim", "can_zero", "can_fast_zero", "can_multi_conn" })
            Assert.True(info.GetProperty(flag).GetBoolean(), flag);
        Assert.Equal(1, info.GetProperty("block_size_minimum").GetInt32());
        Assert.Equal(4096, info.GetProperty("block_size_preferred").GetInt32());
        Assert.Equal(32 << 20, info.GetProperty("block_size_maximum").GetInt32());
        Assert.Contains("base:allocation", info.GetProperty("contexts").EnumerateArray().Select(e => e.GetString()));

        var readOnly = await NbdClients.InfoAsync(_server.Uri("vd-ro"));
        Assert.True(readOnly.GetProperty("is_read_only").GetBoolean());
        Assert.Equal(512, readOnly.GetProperty("block_size_preferred").GetInt32());
    }

    [Fact]
    public async Task Qemu_img_reports_the_virtual_size()
    {
        Assert.Equal(64L << 20, await NbdClients.QemuVirtualSizeAsync(_server.Uri("vd-data")));
    }

    [Fact]
    public async Task The_unix_socket_serves_the_same_exports()
    {
        Assert.Equal(8L << 20, await NbdClients.QemuVirtualSizeAsync(_server.UnixUri("vd-ro")));
        await NbdClients.QemuIoAsync(_server.UnixUri("vd-data"), "write -P 0x5a 1M 128k", "read -P 0x5a 1M 128k");
        await NbdClients.QemuIoAsync(_server.Uri("vd-data"), "read -P 0x5a 1M 128k"); // same data over TCP
    }

    [Fact]
    public async Task An_unknown_export_is_refused()
    {
        var result = await ExternalProcess.RunAsync("nbdinfo", ["--json", _server.Uri("no-such-vdisk")]);
        Assert.NotEqual(0, result.ExitCode);
        _server.AssertNoErrors();
    }
}
