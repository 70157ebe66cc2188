using ZeroDisk.Nbd.Tests.Support;

namespace ZeroDisk.Nbd.Tests.Tls;

/// <summary>
/// libnbd (nbdinfo, nbdcopy with <c>nbds://…?tls-certificates=</c>) and qemu (qemu-img, qemu-io with a
/// <c>tls-creds-x509</c> object) against a server that requires TLS, verifies client certificates against its CA and
/// opens each export only to the clients named for it.
/// </summary>
public sealed class When_real_clients_use_tls : IAsyncLifetime
{
    private TlsNbdServer _tls = null!;
    private string _clientA = null!, _clientB = null!, _operator = null!;

    public Task InitializeAsync()
    {
        _tls = TlsNbdServer.Start();
        _clientA = _tls.Pki.Client("client-a");
        _clientB = _tls.Pki.Client("client-b");
        _operator = _tls.Pki.Client("operator");
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _tls.DisposeAsync();

    [Fact]
    public async Task Nbdcopy_writes_and_reads_a_vdisk_over_tls()
    {
        var image = Path.Combine(_tls.Pki.Directory, "image.raw");
        var back = Path.Combine(_tls.Pki.Directory, "back.raw");
        var bytes = new byte[TlsNbdServer.Size];
        new Random(21).NextBytes(bytes);
        await File.WriteAllBytesAsync(image, bytes);

        await NbdClients.CopyAsync(image, _tls.TlsUri("vd-a", _clientA));
        await NbdClients.CopyAsync(_tls.TlsUri("vd-a", _clientA), back);

        var readBack = await File.ReadAllBytesAsync(back);
        Assert.True(bytes.AsSpan().SequenceEqual(readBack), "the image read back over TLS differs");
        var stored = new byte[TlsNbdServer.Size];
        await _tls.Server.Catalog["vd-a"].ReadAsync(0, stored, CancellationToken.None);
        Assert.True(bytes.AsSpan().SequenceEqual(stored), "the export does not hold what nbdcopy wrote");
        var info = await NbdClients.InfoAsync(_tls.TlsUri("vd-a", _clientA));
        Assert.Equal(TlsNbdServer.Size, info.GetProperty("export-size").GetInt64());
        _tls.Server.AssertNoErrors();
    }

    [Fact]
    public async Task Qemu_io_and_qemu_img_use_a_tls_creds_x509_object()
    {
        await QemuIoAsync(_clientA, "vd-a", "write -P 0x5c 1M 256k", "read -P 0x5c 1M 256k");
        var info = await QemuAsync("qemu-img", _clientA, "vd-a", ["info", "--output=json"]);
        Assert.Contains($"\"virtual-size\": {TlsNbdServer.Size}", info);
        var stored = new byte[256 << 10];
        await _tls.Server.Catalog["vd-a"].ReadAsync(1 << 20, stored, CancellationToken.None);
        Assert.All(stored, b => Assert.Equal(0x5c, b));
        _tls.Server.AssertNoErrors();
    }

    [Fact]
    public async Task A_plaintext_client_is_refused()
    {
        var nbdinfo = await ExternalProcess.RunAsync("nbdinfo", ["--json", _tls.PlainUri("vd-a")]);
        Assert.NotEqual(0, nbdinfo.ExitCode);
        var list = await ExternalProcess.RunAsync("nbdinfo", ["--list", "--json", $"nbd://127.0.0.1:{_tls.Port}"]);
        Assert.NotEqual(0, list.ExitCode);
        var qemu = await ExternalProcess.RunAsync("qemu-io", ["-f", "raw", "-c", "write -P 0x66 0 4k", _tls.PlainUri("vd-a")]);
        Assert.DoesNotContain("wrote 4096/4096 bytes", qemu.StdOut);
        Assert.Contains("TLS", qemu.StdOut + qemu.StdErr, StringComparison.OrdinalIgnoreCase);
        var first = new byte[4096];
        await _tls.Server.Catalog["vd-a"].ReadAsync(0, first, CancellationToken.None);
        Assert.All(first, b => Assert.Equal(0, b));
        _tls.Server.AssertNoErrors();
    }

    [Fact]
    public async Task A_client_certificate_from_another_ca_is_refused()
    {
        var forged = _tls.Foreign.Client("client-a", serverCa: _tls.Pki); // trusts the server, but is signed by another CA
        var result = await ExternalProcess.RunAsync("nbdinfo", ["--json", _tls.TlsUri("vd-a", forged)]);
        Assert.NotEqual(0, result.ExitCode);
        var anonymous = await ExternalProcess.RunAsync("nbdinfo", ["--json", _tls.TlsUri("vd-a", _tls.Pki.Anonymous())]);
        Assert.NotEqual(0, anonymous.ExitCode);
        Assert.Equal(0, (await ExternalProcess.RunAsync("nbdinfo", ["--json", _tls.TlsUri("vd-a", _clientA)])).ExitCode);
        _tls.Server.AssertNoErrors();
    }

    [Fact]
    public async Task A_client_sees_and_opens_only_the_vdisks_named_for_it()
    {
        Assert.Equal(["vd-a"], await NbdClients.ListExportsAsync(_tls.TlsUri("", _clientA)));
        Assert.Equal(["vd-b"], await NbdClients.ListExportsAsync(_tls.TlsUri("", _clientB)));
        Assert.Equal(["vd-a", "vd-b", "vd-nobody"], (await NbdClients.ListExportsAsync(_tls.TlsUri("", _operator))).Order().ToArray());

        var other = await ExternalProcess.RunAsync("nbdinfo", ["--json", _tls.TlsUri("vd-a", _clientB)]);
        Assert.NotEqual(0, other.ExitCode);
        var qemu = await QemuAsync("qemu-io", _clientB, "vd-a", ["-c", "write -P 0x77 0 4k"], check: false);
        Assert.DoesNotContain("wrote 4096/4096 bytes", qemu);
        var first = new byte[4096];
        await _tls.Server.Catalog["vd-a"].ReadAsync(0, first, CancellationToken.None);
        Assert.DoesNotContain((byte)0x77, first);
        _tls.Server.AssertNoErrors();
    }

    private Task QemuIoAsync(string certificates, string export, params string[] commands) =>
        QemuAsync("qemu-io", certificates, export, [.. commands.SelectMany(c => new[] { "-c", c })]);

    /// <summary>qemu-io or qemu-img with a tls-creds-x509 object and the NBD image given as options.</summary>
    private async Task<string> QemuAsync(string tool, string certificates, string export, string[] arguments, bool check = true)
    {
        string[] args = tool == "qemu-img"
            ? [arguments[0], "--object", $"tls-creds-x509,id=tls0,dir={certificates},endpoint=client", .. arguments[1..], "--image-opts", ImageOptions(export)]
            : ["--object", $"tls-creds-x509,id=tls0,dir={certificates},endpoint=client", .. arguments, "--image-opts", ImageOptions(export)];
        var result = await ExternalProcess.RunAsync(tool, args, TimeSpan.FromMinutes(2));
        var output = result.StdOut + result.StdErr;
        if (check && (result.ExitCode != 0 || output.Contains("failed", StringComparison.Ordinal) || output.Contains("Pattern verification", StringComparison.Ordinal)))
            throw new InvalidOperationException($"{tool} {string.Join(' ', args)} exited {result.ExitCode}:\n{output}");
        return output;
    }

    private string ImageOptions(string export) =>
        $"driver=raw,file.driver=nbd,file.host=127.0.0.1,file.port={_tls.Port},file.export={export},file.tls-creds=tls0";
}
