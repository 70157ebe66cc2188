using System.ComponentModel.DataAnnotations;
using System.Net.Security;
using Microsoft.Extensions.Configuration;
using ZeroDisk.ServiceDefaults.Security;

namespace ZeroDisk.ServiceDefaults.Etcd;

/// <summary>
/// How every ZeroDisk process authenticates to etcd: a user and password (etcd's <c>auth enable</c>; a token is
/// obtained with them and sent with every call, <see cref="EtcdAuthentication"/>), and for <c>https://</c> endpoints
/// the CA the members' certificates chain to and an optional client certificate. Section <c>Etcd</c> (environment
/// <c>Etcd__User</c>, <c>Etcd__PasswordFile</c>, …); the endpoints stay in <c>ETCD_ENDPOINTS</c>.
/// </summary>
public sealed class EtcdCredentials : IValidatableObject
{
    public const string Section = "Etcd";

    public string? User { get; set; }

    /// <summary>The password itself (an environment variable). <see cref="PasswordFile"/> is preferred and wins.</summary>
    public string? Password { get; set; }

    public string? PasswordFile { get; set; }

    /// <summary>The CA of the members' certificates (PEM), for <c>https://</c> endpoints; empty: the system's roots.</summary>
    public string? CaFile { get; set; }

    /// <summary>A client certificate (PEM) for members started with <c>--client-cert-auth</c>, and its key.</summary>
    public string? CertificateFile { get; set; }

    public string? KeyFile { get; set; }

    private string? _password;
    private bool _passwordRead;

    public string? ResolvedPassword()
    {
        if (_passwordRead) return _password;
        _password = SecretSource.Read(Password, PasswordFile);
        _passwordRead = true;
        return _password;
    }

    public bool Authenticates => User is { Length: > 0 };

    public SslClientAuthenticationOptions ClientTls(string? targetHost) => Security.ClientTls.Options(targetHost, CaFile, CertificateFile, KeyFile);

    public bool HasTlsFiles => CaFile is { Length: > 0 } || CertificateFile is { Length: > 0 };

    public override string ToString() =>
        $"user={(Authenticates ? User : "(none)")}, password={(ResolvedPassword() is null ? "(none)" : SecretMasking.Mask)}";

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var problem in SecretSource.Problems(PasswordFile)) yield return new(problem, [nameof(PasswordFile)]);
        foreach (var (name, file) in new[] { (nameof(CaFile), CaFile), (nameof(CertificateFile), CertificateFile), (nameof(KeyFile), KeyFile) })
            if (file is { Length: > 0 } && !File.Exists(file)) yield return new($"file '{file}' does not exist", [name]);
        if (Authenticates && Password is not { Length: > 0 } && PasswordFile is not { Length: > 0 })
            yield return new("a user needs a password (Password or PasswordFile)", [nameof(User)]);
    }

    public static EtcdCredentials From(IConfiguration configuration) =>
        configuration.GetSection(Section).Get<EtcdCredentials>() ?? new EtcdCredentials();
}
