using ZeroDisk.Nbd.Memory;
using ZeroDisk.Nbd.Security;

namespace ZeroDisk.Nbd.Tests.Support;

/// <summary>
/// An in-memory NBD server that requires TLS and client certificates of its own CA, with per-export access:
/// <c>vd-a</c> for client <c>client-a</c>, <c>vd-b</c> for <c>client-b</c>, every export for <c>operator</c>;
/// <c>vd-nobody</c> is named for no one. Other CA: <see cref="Foreign"/>.
/// </summary>
public sealed class TlsNbdServer(TestCertificates pki, TestCertificates foreign, InMemoryNbdServer server) : IAsyncDisposable
{
    public const long Size = 16L << 20;

    public TestCertificates Pki => pki;
    public TestCertificates Foreign => foreign;
    public InMemoryNbdServer Server => server;
    public int Port => Server.Port;

    public static TlsNbdServer Start(NbdTlsMode mode = NbdTlsMode.Required, bool verifyClients = true, bool restrictExports = true)
    {
        var pki = new TestCertificates();
        var foreign = new TestCertificates("Some other CA");
        var (certificate, key) = pki.Server();
        var options = new NbdServerOptions
        {
            Tls = new NbdTlsOptions { Mode = mode, CertificateFile = certificate, KeyFile = key, ClientCaFile = verifyClients ? pki.CaFile : null },
            Access = new NbdAccessOptions
            {
                Enabled = restrictExports,
                AllExports = "operator",
                Exports = new() { ["vd-a"] = "client-a", ["vd-b"] = "client-b, operator" },
            },
        };
        var server = InMemoryNbdServer.Start(c =>
        {
            c.Add("vd-a", Size);
            c.Add("vd-b", Size);
            c.Add("vd-nobody", Size);
        }, options: options);
        return new TlsNbdServer(pki, foreign, server);
    }

    /// <summary>An <c>nbds://</c> URI (TLS required by the client) with libnbd's certificate directory.</summary>
    public string TlsUri(string export, string certificates) =>
        $"nbds://127.0.0.1:{Port}/{export}?tls-certificates={certificates}";

    public string PlainUri(string export) => NbdClients.TcpUri(Port, export);

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        Pki.Dispose();
        Foreign.Dispose();
    }
}
