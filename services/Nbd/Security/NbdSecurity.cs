using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace ZeroDisk.Nbd.Security;

/// <summary>
/// The TLS mode, the loaded certificates and the export access rules of one server, built once at start (a file
/// that cannot be read fails the start, not the first client). The handshake asks it what a connection may do.
/// </summary>
internal sealed class NbdSecurity
{
    public static readonly NbdSecurity None = new(NbdTlsMode.Off, null, null, null);

    private const string ClientAuthentication = "1.3.6.1.5.5.7.3.2";

    private readonly IReadOnlySet<string>? _allExports;
    private readonly Dictionary<string, IReadOnlySet<string>>? _exports;

    private NbdSecurity(NbdTlsMode mode, SslServerAuthenticationOptions? tls, IReadOnlySet<string>? allExports, Dictionary<string, IReadOnlySet<string>>? exports)
    {
        Mode = mode;
        Tls = tls;
        _allExports = allExports;
        _exports = exports;
    }

    public NbdTlsMode Mode { get; }

    /// <summary>What SslStream authenticates with; null when Mode is Off.</summary>
    public SslServerAuthenticationOptions? Tls { get; }

    /// <summary>True when exports are open only to the clients named for them.</summary>
    public bool RestrictsExports => _exports is not null;

    /// <summary>Whether a client known as <paramref name="identity"/> (null: no verified certificate) may open the export.</summary>
    public bool MayOpen(string? identity, string export)
    {
        if (_exports is null) return true;
        if (identity is null) return false;
        return _allExports!.Contains(identity) || (_exports.TryGetValue(export, out var names) && names.Contains(identity));
    }

    /// <summary>The name a verified client certificate gives its holder: the subject's common name.</summary>
    public static string IdentityOf(X509Certificate certificate) =>
        certificate is X509Certificate2 x509 ? x509.GetNameInfo(X509NameType.SimpleName, forIssuer: false) : certificate.Subject;

    public static NbdSecurity From(NbdServerOptions options)
    {
        var tlsOptions = options.Tls;
        if (tlsOptions.Mode == NbdTlsMode.Off && !options.Access.Enabled) return None;
        SslServerAuthenticationOptions? tls = null;
        if (tlsOptions.Mode != NbdTlsMode.Off)
        {
            var chain = Load("Nbd:Tls:CertificateFile", tlsOptions.CertificateFile!, X509CertificateCollectionFromPem);
            var leaf = Load("Nbd:Tls:KeyFile", tlsOptions.KeyFile!, key => X509Certificate2.CreateFromPemFile(tlsOptions.CertificateFile!, key));
            tls = new SslServerAuthenticationOptions
            {
                ServerCertificateContext = SslStreamCertificateContext.Create(leaf, [.. chain.Skip(1)], offline: true),
                EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13, // proto.md: 1.2 at least, nothing older by default
                AllowRenegotiation = false,
                CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            };
            if (tlsOptions.ClientCaFile is { Length: > 0 } caFile)
            {
                var authorities = Load("Nbd:Tls:ClientCaFile", caFile, X509CertificateCollectionFromPem);
                var policy = new X509ChainPolicy
                {
                    TrustMode = X509ChainTrustMode.CustomRootTrust,
                    RevocationMode = X509RevocationMode.NoCheck,
                    VerificationFlags = X509VerificationFlags.NoFlag,
                };
                policy.CustomTrustStore.AddRange(authorities);
                policy.ApplicationPolicy.Add(new System.Security.Cryptography.Oid(ClientAuthentication));
                tls.ClientCertificateRequired = true;
                tls.CertificateChainPolicy = policy;
                // SslStream checks the chain with the policy above; any error (no certificate, another CA, expired,
                // not for client authentication) fails the handshake.
                tls.RemoteCertificateValidationCallback = static (_, certificate, _, errors) => certificate is not null && errors == SslPolicyErrors.None;
            }
        }
        if (!options.Access.Enabled) return new NbdSecurity(tlsOptions.Mode, tls, null, null);
        var exports = options.Access.Exports.ToDictionary(e => e.Key, e => NbdAccessOptions.Names(e.Value), StringComparer.Ordinal);
        return new NbdSecurity(tlsOptions.Mode, tls, NbdAccessOptions.Names(options.Access.AllExports), exports);
    }

    private static X509Certificate2Collection X509CertificateCollectionFromPem(string path)
    {
        var collection = new X509Certificate2Collection();
        collection.ImportFromPemFile(path);
        if (collection.Count == 0) throw new InvalidDataException("no PEM certificate in it");
        return collection;
    }

    private static T Load<T>(string key, string path, Func<string, T> load)
    {
        try { return load(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException or ArgumentException)
        {
            throw new NbdTlsFileException(key, $"cannot use {path}: {e.Message}", e);
        }
    }
}

/// <summary>A TLS file named in the options that cannot be used; <see cref="Key"/> is its setting (Nbd:Tls:KeyFile).</summary>
public sealed class NbdTlsFileException(string key, string message, Exception inner) : InvalidOperationException($"{key}: {message}", inner)
{
    public string Key { get; } = key;
    public string Problem { get; } = message;
}
