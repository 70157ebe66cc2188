namespace ZeroDisk.Nbd.Security;

/// <summary>Whether clients may, or must, upgrade to TLS with NBD_OPT_STARTTLS (proto.md "TLS support").</summary>
public enum NbdTlsMode
{
    /// <summary>No TLS (proto.md NOTLS): STARTTLS is answered NBD_REP_ERR_UNSUP.</summary>
    Off,

    /// <summary>TLS at the client's choice, every export open either way (proto.md SELECTIVETLS with no TLS-only export).</summary>
    Allowed,

    /// <summary>
    /// TLS before anything else (proto.md FORCEDTLS): every option but STARTTLS and ABORT is answered
    /// NBD_REP_ERR_TLS_REQD, NBD_OPT_EXPORT_NAME closes the connection.
    /// </summary>
    Required,
}

/// <summary>
/// x509 TLS of the NBD server (<c>Nbd:Tls</c>). PEM files, read once at start: the server's certificate (its chain may
/// follow it in the same file) and private key, and, when clients must present a certificate, the CA that signs them.
/// </summary>
public sealed class NbdTlsOptions
{
    public NbdTlsMode Mode { get; set; } = NbdTlsMode.Off;

    /// <summary>The server certificate, PEM (leaf first, intermediates after it). Required unless Mode is Off.</summary>
    public string? CertificateFile { get; set; }

    /// <summary>The server certificate's private key, PEM (PKCS#8, PKCS#1 or SEC1). Required unless Mode is Off.</summary>
    public string? KeyFile { get; set; }

    /// <summary>
    /// When set, every TLS client must present a certificate that chains to a CA of this PEM file (and, if it names
    /// its uses, is meant for client authentication); one that does not is disconnected in the TLS handshake.
    /// </summary>
    public string? ClientCaFile { get; set; }

    internal IEnumerable<(string Member, string Message)> Problems()
    {
        if (!Enum.IsDefined(Mode)) yield return ("Tls:Mode", $"must be Off, Allowed or Required (is {Mode})");
        if (Mode == NbdTlsMode.Off)
        {
            if (ClientCaFile is not null) yield return ("Tls:ClientCaFile", "is set but Tls:Mode is Off: clients would not be verified");
            yield break;
        }
        foreach (var (member, path, required) in new[] { ("Tls:CertificateFile", CertificateFile, true), ("Tls:KeyFile", KeyFile, true), ("Tls:ClientCaFile", ClientCaFile, false) })
        {
            if (string.IsNullOrWhiteSpace(path))
            {
                if (required) yield return (member, $"is required when Tls:Mode is {Mode}");
            }
            else if (!File.Exists(path)) yield return (member, $"file {path} does not exist");
        }
    }
}
