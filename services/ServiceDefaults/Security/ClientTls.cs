using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace ZeroDisk.ServiceDefaults.Security;

/// <summary>
/// The client side of a TLS connection to a store (a storage engine, etcd): the server's certificate must chain to
/// <paramref name="caFile"/> (else to the system's roots) and name the host; a client certificate is offered when one
/// is configured. One implementation for every client library, so engines and etcd verify the same way.
/// </summary>
public static class ClientTls
{
    public static SslClientAuthenticationOptions Options(string? targetHost, string? caFile, string? certificateFile, string? keyFile)
    {
        var options = new SslClientAuthenticationOptions
        {
            TargetHost = targetHost, // null: the host of each request (an HTTP handler's members)
            EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        };
        if (certificateFile is { Length: > 0 })
            options.ClientCertificates = [ClientCertificate(certificateFile, keyFile)];
        if (caFile is { Length: > 0 })
        {
            var authority = X509CertificateLoader.LoadCertificateFromFile(caFile);
            options.RemoteCertificateValidationCallback = (_, certificate, _, errors) => ChainsTo(authority, certificate, errors);
        }
        return options;
    }

    /// <summary>A PEM certificate and key as a certificate SslStream can present (an ephemeral key cannot be used on every platform).</summary>
    public static X509Certificate2 ClientCertificate(string certificateFile, string? keyFile)
    {
        using var pem = X509Certificate2.CreateFromPemFile(certificateFile, keyFile is { Length: > 0 } ? keyFile : null);
        return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
    }

    /// <summary>
    /// True when the server's certificate chains to <paramref name="authority"/> alone (not to the system's roots) and
    /// the name matched: a name mismatch is never accepted, whatever the chain.
    /// </summary>
    public static bool ChainsTo(X509Certificate2 authority, X509Certificate? certificate, SslPolicyErrors errors)
    {
        if (certificate is null || errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch) || errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable))
            return false;
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(authority);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = new X509Certificate2(certificate);
        return chain.Build(leaf);
    }
}
