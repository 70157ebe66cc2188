using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ZeroDisk.Nbd.Tests.Support;

/// <summary>
/// A throwaway PKI in a temporary directory: a CA, a server certificate for 127.0.0.1/localhost, and client
/// certificates. Each client gets a directory in the layout gnutls clients read (libnbd's <c>tls-certificates=</c>,
/// qemu's <c>tls-creds-x509,dir=</c>): <c>ca-cert.pem</c> (the CA that signed the server), <c>client-cert.pem</c>,
/// <c>client-key.pem</c>. ECDSA P-256 keys: fast to make, accepted by gnutls and .NET alike.
/// </summary>
public sealed class TestCertificates : IDisposable
{
    private const string ServerAuthentication = "1.3.6.1.5.5.7.3.1", ClientAuthentication = "1.3.6.1.5.5.7.3.2";

    private readonly X509Certificate2 _ca;
    private readonly ECDsa _caKey;

    public TestCertificates(string caName = "ZeroDisk test CA")
    {
        Directory = Path.Combine(Path.GetTempPath(), $"zd-tls-{Guid.NewGuid():N}");
        System.IO.Directory.CreateDirectory(Directory);
        _caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={caName}", _caKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        _ca = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        CaFile = Write("ca-cert.pem", _ca.ExportCertificatePem());
    }

    public string Directory { get; }

    /// <summary>The CA certificate, PEM.</summary>
    public string CaFile { get; }

    /// <summary>Makes the server's certificate and key files (SAN 127.0.0.1, ::1, localhost).</summary>
    public (string CertificateFile, string KeyFile) Server(string name = "zerodisk-nbd")
    {
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        san.AddIpAddress(IPAddress.IPv6Loopback);
        san.AddDnsName("localhost");
        var (certificate, key) = Issue(name, ServerAuthentication, san.Build());
        var folder = Folder($"server-{name}");
        return (Write(Path.Combine(folder, "server-cert.pem"), certificate), Write(Path.Combine(folder, "server-key.pem"), key));
    }

    /// <summary>
    /// A client directory for libnbd and qemu: <paramref name="serverCa"/> (the CA that signed the server, by default
    /// this one) as ca-cert.pem, and a client certificate with CN <paramref name="name"/> signed by this CA.
    /// </summary>
    public string Client(string name, TestCertificates? serverCa = null)
    {
        var (certificate, key) = Issue(name, ClientAuthentication, null);
        var folder = Folder($"client-{name}-{Guid.NewGuid():N}"[..40]);
        File.Copy((serverCa ?? this).CaFile, Path.Combine(folder, "ca-cert.pem"));
        Write(Path.Combine(folder, "client-cert.pem"), certificate);
        Write(Path.Combine(folder, "client-key.pem"), key);
        return folder;
    }

    /// <summary>A client directory with only the CA, no client certificate.</summary>
    public string Anonymous()
    {
        var folder = Folder($"anonymous-{Guid.NewGuid():N}");
        File.Copy(CaFile, Path.Combine(folder, "ca-cert.pem"));
        return folder;
    }

    /// <summary>A client certificate with its key, for .NET clients.</summary>
    public X509Certificate2 ClientCertificate(string name)
    {
        var (certificate, key) = Issue(name, ClientAuthentication, null);
        return X509Certificate2.CreateFromPem(certificate, key);
    }

    public X509Certificate2 CaCertificate => _ca;

    private (string CertificatePem, string KeyPem) Issue(string name, string purpose, X509Extension? subjectAlternativeName)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        // gnutls (qemu) wants digital signature and key encipherment on end-entity certificates.
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, false));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(purpose)], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(_ca, true, false));
        if (subjectAlternativeName is not null) request.CertificateExtensions.Add(subjectAlternativeName);
        var serial = RandomNumberGenerator.GetBytes(12);
        serial[0] &= 0x7f;
        using var certificate = request.Create(_ca, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(29), serial);
        return (certificate.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem());
    }

    private string Folder(string name)
    {
        var folder = Path.Combine(Directory, name);
        System.IO.Directory.CreateDirectory(folder);
        return folder;
    }

    private string Write(string path, string pem)
    {
        var full = Path.Combine(Directory, path);
        File.WriteAllText(full, pem + "\n");
        return full;
    }

    public void Dispose()
    {
        _ca.Dispose();
        _caKey.Dispose();
        try { System.IO.Directory.Delete(Directory, recursive: true); }
        catch (IOException) { }
    }
}
