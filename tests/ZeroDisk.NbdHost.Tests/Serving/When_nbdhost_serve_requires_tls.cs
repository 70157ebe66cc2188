using Xunit.Abstractions;
using ZeroDisk.NbdHost.Tests.Harness;

namespace ZeroDisk.NbdHost.Tests.Serving;

/// <summary>
/// <c>nbdhost serve</c> over Redis, configured from the environment as an operator would (<c>Nbd__Tls__…</c>,
/// <c>Nbd__Access__…</c>), with certificates made by openssl: TLS required, client certificates verified, the vdisk
/// open only to client <c>vm-a</c>. qemu-io writes it over TLS and the blocks land on the engines; a plaintext client
/// and client <c>vm-b</c> get nothing.
/// </summary>
public sealed class When_nbdhost_serve_requires_tls(ITestOutputHelper output) : ServeProcessTest(output)
{
    private readonly string _pki = Directory.CreateTempSubdirectory("zd-serve-tls").FullName;

    protected override IReadOnlyDictionary<string, string> ServeEnvironment => new Dictionary<string, string>
    {
        ["Nbd__Tls__Mode"] = "Required",
        ["Nbd__Tls__CertificateFile"] = Path.Combine(_pki, "server-cert.pem"),
        ["Nbd__Tls__KeyFile"] = Path.Combine(_pki, "server-key.pem"),
        ["Nbd__Tls__ClientCaFile"] = Path.Combine(_pki, "ca-cert.pem"),
        ["Nbd__Access__Enabled"] = "true",
        [$"Nbd__Access__Exports__{H.VdiskId}"] = "vm-a",
    };

    public override async Task InitializeAsync()
    {
        // A CA, the server (127.0.0.1), and two clients, each in the directory layout of qemu and libnbd.
        var script = """
            set -e
            cd "$1"
            ext() { printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=%s\n%s\n' "$1" "$2" > "$3"; }
            openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca-key.pem -out ca-cert.pem -days 2 -subj /CN=zerodisk-test-ca \
              -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
            issue() { # name purpose san out-prefix
              openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$4-key.pem" -out "$4.csr" -subj "/CN=$1" 2>/dev/null
              ext "$2" "$3" "$4.ext"
              openssl x509 -req -in "$4.csr" -CA ca-cert.pem -CAkey ca-key.pem -CAcreateserial -days 2 -extfile "$4.ext" -out "$4-cert.pem" 2>/dev/null
            }
            issue nbdhost serverAuth "subjectAltName=IP:127.0.0.1,DNS:localhost" server
            for client in vm-a vm-b; do
              mkdir "$client"; issue "$client" clientAuth "" "$client/client"; cp ca-cert.pem "$client/"
            done
            mkdir plain-ca; cp ca-cert.pem plain-ca/
            """;
        (await ExternalProcess.RunAsync("bash", ["-c", script, "pki", _pki], TimeSpan.FromMinutes(1))).EnsureSuccess("openssl");
        await base.InitializeAsync();
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        Directory.Delete(_pki, recursive: true);
    }

    private string TlsUri(string client, string export) => $"nbds://127.0.0.1:{Serve.Port}/{export}?tls-certificates={Path.Combine(_pki, client)}";

    [Fact]
    public async Task Qemu_io_writes_over_tls_and_only_the_named_client_gets_the_vdisk()
    {
        var qemu = await ExternalProcess.RunAsync("qemu-io",
            ["--object", $"tls-creds-x509,id=tls0,dir={Path.Combine(_pki, "vm-a")},endpoint=client",
             "-c", "write -P 0xab 4096 4096", "-c", "read -P 0xab 4096 4096",
             "--image-opts", $"driver=raw,file.driver=nbd,file.host=127.0.0.1,file.port={Serve.Port},file.export={H.VdiskId},file.tls-creds=tls0"],
            TimeSpan.FromMinutes(2));
        Assert.True(qemu.ExitCode == 0 && !qemu.StdOut.Contains("failed", StringComparison.Ordinal), qemu.StdOut + qemu.StdErr);
        foreach (var engine in new[] { H.Clusters.Primary[1], H.Clusters.Slave[1] })
            Assert.Equal(Enumerable.Repeat((byte)0xab, 4096).ToArray(), (byte[]?)await H.Inspect(engine).HashGetAsync(H.BlocksKey, 1));

        Assert.Equal([H.VdiskId], await NbdClients.ListExportsAsync(TlsUri("vm-a", "")));
        Assert.Empty(await NbdClients.ListExportsAsync(TlsUri("vm-b", "")));
        Assert.NotEqual(0, (await ExternalProcess.RunAsync("nbdinfo", ["--json", TlsUri("vm-b", H.VdiskId)])).ExitCode);
        Assert.NotEqual(0, (await ExternalProcess.RunAsync("nbdinfo", ["--json", TlsUri("plain-ca", H.VdiskId)])).ExitCode); // no client certificate
        Assert.NotEqual(0, (await ExternalProcess.RunAsync("nbdinfo", ["--json", Serve.Uri(H.VdiskId)])).ExitCode); // no TLS
        Assert.Equal(1L << 30, (await NbdClients.InfoAsync(TlsUri("vm-a", H.VdiskId))).GetProperty("export-size").GetInt64());
    }
}
