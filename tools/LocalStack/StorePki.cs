using ZeroDisk.ServiceDefaults.Engines;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.LocalStack;

/// <summary>
/// A private CA with a server certificate (127.0.0.1, ::1, localhost) and a client certificate for the engines and
/// etcd, made by <c>scripts/lib/store-pki.sh</c> — the script <c>scripts/infra.sh --tls</c> uses — in a temporary
/// directory that goes away on dispose.
/// </summary>
public sealed class StorePki : IDisposable
{
    private StorePki(string directory) => Directory = directory;

    public string Directory { get; }
    public string CaFile => File("ca-cert.pem");
    public string ClientCertificateFile => File("client-cert.pem");
    public string ClientKeyFile => File("client-key.pem");

    /// <param name="caName">The CA's CN: two PKIs made here are two unrelated CAs either way.</param>
    public static async Task<StorePki> CreateAsync(string caName = "zerodisk-test-store-ca")
    {
        var pki = new StorePki(Path.Combine(Path.GetTempPath(), "zd-pki-" + Guid.NewGuid().ToString("N")[..8]));
        (await ExternalProcess.RunAsync(Path.Combine(RepoPaths.Root, "scripts", "lib", "store-pki.sh"), [pki.Directory, caName], TimeSpan.FromMinutes(1)))
            .EnsureSuccess("scripts/lib/store-pki.sh");
        return pki;
    }

    /// <summary>What a server of this PKI presents, and whether it asks its clients for certificates of this CA.</summary>
    public ServerTls Server(bool clientCertificates) => new(File("server-cert.pem"), File("server-key.pem"), CaFile, clientCertificates);

    /// <summary>A client that trusts this CA, with this PKI's client certificate when <paramref name="withCertificate"/>.</summary>
    public EngineCredentials EngineClient(bool withCertificate = true) => new()
    {
        UseTls = true, CaFile = CaFile,
        CertificateFile = withCertificate ? ClientCertificateFile : null, KeyFile = withCertificate ? ClientKeyFile : null,
    };

    /// <inheritdoc cref="EngineClient"/>
    public EtcdCredentials EtcdClient(bool withCertificate = true) => new()
    {
        CaFile = CaFile, CertificateFile = withCertificate ? ClientCertificateFile : null, KeyFile = withCertificate ? ClientKeyFile : null,
    };

    private string File(string name) => Path.Combine(Directory, name);

    public void Dispose()
    {
        try { System.IO.Directory.Delete(Directory, recursive: true); }
        catch (IOException) { }
    }
}
