using ZeroDisk.ServiceDefaults.Security;

namespace ZeroDisk.LocalStack;

/// <summary>
/// The server side of a store's TLS, for the engines and etcd members tests start themselves: the server's certificate
/// and key, the CA its clients' certificates must chain to, and whether a client must present one (redis-server
/// <c>tls-auth-clients yes</c>, etcd <c>--client-cert-auth</c>). The files are what <c>scripts/lib/store-pki.sh</c> makes.
/// </summary>
public sealed record ServerTls(string CertificateFile, string KeyFile, string CaFile, bool ClientCertificates)
{
    /// <summary>Set by <c>scripts/infra.sh --tls</c> in run/infra.env: the certificate the shared engines and etcd use.</summary>
    public const string CertificateVariable = "ZD_TLS_SERVER_CERT_FILE", KeyVariable = "ZD_TLS_SERVER_KEY_FILE";

    /// <summary>
    /// The server certificate from the environment and the clients' CA (<paramref name="clients"/>' <c>CaFile</c>: the
    /// local stack has one CA); client certificates required when the clients have one.
    /// </summary>
    public static ServerTls FromEnvironment(StoreCredentials clients) => new(
        Required(CertificateVariable), Required(KeyVariable),
        clients.CaFile is { Length: > 0 } ca ? ca : throw new InvalidOperationException("TLS without a CaFile: a test's server needs the CA of its clients"),
        clients.CertificateFile is { Length: > 0 });

    /// <summary>redis-server's arguments: the TLS port only (<c>--port 0</c>).</summary>
    public IEnumerable<string> RedisArguments(int port) =>
    [
        "--port", "0", "--tls-port", port.ToString(), "--tls-cert-file", CertificateFile, "--tls-key-file", KeyFile,
        "--tls-ca-cert-file", CaFile, "--tls-auth-clients", ClientCertificates ? "yes" : "no",
    ];

    /// <summary>An etcd member's arguments for its client URLs (https); peers stay plain on loopback.</summary>
    public IEnumerable<string> EtcdArguments() =>
        ["--cert-file", CertificateFile, "--key-file", KeyFile, "--trusted-ca-file", CaFile, .. ClientCertificates ? new[] { "--client-cert-auth" } : []];

    private static string Required(string variable) => Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value
        ? value
        : throw new InvalidOperationException($"TLS is on but {variable} is not set: source a run/infra.env of scripts/infra.sh up --tls");
}
