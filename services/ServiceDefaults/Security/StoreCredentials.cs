using System.ComponentModel.DataAnnotations;
using System.Net.Security;

namespace ZeroDisk.ServiceDefaults.Security;

/// <summary>
/// What the engines' and etcd's credentials have in common: a user and a password (from a file, preferred, or the
/// environment), and the PEM files of TLS — the CA the servers' certificates chain to and an optional client
/// certificate with its key. Each store's record adds what is its own.
/// </summary>
public abstract class StoreCredentials : IValidatableObject
{
    public string? User { get; set; }

    /// <summary>The password itself (an environment variable). <see cref="PasswordFile"/> is preferred and wins.</summary>
    public string? Password { get; set; }

    public string? PasswordFile { get; set; }

    /// <summary>The CA the servers' certificates chain to (PEM); empty: the system's roots.</summary>
    public string? CaFile { get; set; }

    /// <summary>A client certificate (PEM) for servers that verify clients, and its key.</summary>
    public string? CertificateFile { get; set; }

    public string? KeyFile { get; set; }

    private string? _password;
    private bool _passwordRead;

    /// <summary>The password (read from its file once), or null when none is configured.</summary>
    public string? ResolvedPassword()
    {
        if (_passwordRead) return _password;
        _password = SecretSource.Read(Password, PasswordFile);
        _passwordRead = true;
        return _password;
    }

    /// <summary>TLS options for a connection to <paramref name="host"/> (an SslStream's, or a gRPC handler's).</summary>
    public SslClientAuthenticationOptions ClientTls(string? host) => Security.ClientTls.Options(host, CaFile, CertificateFile, KeyFile);

    public bool HasTlsFiles => CaFile is { Length: > 0 } || CertificateFile is { Length: > 0 };

    protected string MaskedPassword => ResolvedPassword() is null ? "(none)" : SecretMasking.Mask;

    public virtual IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var problem in SecretSource.Problems(PasswordFile)) yield return new(problem, [nameof(PasswordFile)]);
        foreach (var (name, file) in new[] { (nameof(CaFile), CaFile), (nameof(CertificateFile), CertificateFile), (nameof(KeyFile), KeyFile) })
            if (file is { Length: > 0 } && !File.Exists(file)) yield return new($"file '{file}' does not exist", [name]);
        if (User is { Length: > 0 } && Password is not { Length: > 0 } && PasswordFile is not { Length: > 0 })
            yield return new("a user needs a password (Password or PasswordFile)", [nameof(User)]);
    }
}
