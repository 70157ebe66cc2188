using ZeroDisk.Nbd.Security;
using ZeroDisk.Nbd.Tests.Support;

namespace ZeroDisk.Nbd.Tests.Tls;

/// <summary>TLS at the client's choice: the same export answers plaintext and TLS clients (no client certificate asked).</summary>
public sealed class When_tls_is_allowed : IAsyncLifetime
{
    private TlsNbdServer _tls = null!;

    public Task InitializeAsync()
    {
        _tls = TlsNbdServer.Start(NbdTlsMode.Allowed, verifyClients: false, restrictExports: false);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _tls.DisposeAsync();

    [Fact]
    public async Task Plaintext_and_tls_clients_both_open_every_export()
    {
        await NbdClients.QemuIoAsync(_tls.PlainUri("vd-b"), "write -P 0x3c 0 64k");
        await NbdClients.CopyAsync(_tls.TlsUri("vd-b", _tls.Pki.Anonymous()), Path.Combine(_tls.Pki.Directory, "vd-b.raw"));
        var copied = await File.ReadAllBytesAsync(Path.Combine(_tls.Pki.Directory, "vd-b.raw"));
        Assert.All(copied.AsSpan(0, 64 << 10).ToArray(), b => Assert.Equal(0x3c, b));
        Assert.Equal(3, (await NbdClients.ListExportsAsync($"nbd://127.0.0.1:{_tls.Port}")).Count);
        Assert.Equal(3, (await NbdClients.ListExportsAsync(_tls.TlsUri("", _tls.Pki.Anonymous()))).Count);
        _tls.Server.AssertNoErrors();
    }
}
