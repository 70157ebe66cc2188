using System.ComponentModel.DataAnnotations;
using System.Net.Security;
using Microsoft.Extensions.Configuration;
using ZeroDisk.ServiceDefaults.Security;

namespace ZeroDisk.ServiceDefaults.Engines;

/// <summary>
/// How every ZeroDisk process authenticates to the storage engines (redis-server): an ACL user and password
/// (<c>AUTH</c>), and TLS with the engines' CA and an optional client certificate. Section <c>Engines</c>
/// (environment <c>Engines__Password</c>, …). Plain properties and <see cref="ClientTls"/> so a client that is not
/// StackExchange.Redis uses the same settings; <see cref="EngineConnection"/> applies them to StackExchange.Redis.
/// </summary>
public sealed class EngineCredentials : IValidatableObject
{
    public const string Section = "Engines";

    /// <summary>The ACL user (Redis 6+); empty: the <c>default</c> user, i.e. <c>requirepass</c>.</summary>
    public string? User { get; set; }

    /// <summary>The password itself (an environment variable). <see cref="PasswordFile"/> is preferred and wins.</summary>
    public string? Password { get; set; }

    public string? PasswordFile { get; set; }

    /// <summary>Connect with TLS (redis-server <c>--tls-port</c>); the addresses in etcd are then the TLS ports.</summary>
    public bool UseTls { get; set; }

    /// <summary>The CA the engines' certificates chain to (PEM); empty: the system's roots.</summary>
    public string? CaFile { get; set; }

    /// <summary>A client certificate (PEM) for engines that verify clients (<c>tls-auth-clients yes</c>), and its key.</summary>
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

    /// <summary>TLS options for a connection to the engine at <paramref name="host"/> (a non-StackExchange client's SslStream).</summary>
    public SslClientAuthenticationOptions ClientTls(string? host) => Security.ClientTls.Options(host, CaFile, CertificateFile, KeyFile);

    /// <summary>What operators may see: never the password.</summary>
    public override string ToString() =>
        $"user={(User is { Length: > 0 } ? User : "(default)")}, password={(ResolvedPassword() is null ? "(none)" : SecretMasking.Mask)}, tls={(UseTls ? "on" : "off")}";

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var problem in SecretSource.Problems(PasswordFile)) yield return new(problem, [nameof(PasswordFile)]);
        foreach (var (name, file) in new[] { (nameof(CaFile), CaFile), (nameof(CertificateFile), CertificateFile), (nameof(KeyFile), KeyFile) })
            if (file is { Length: > 0 } && !File.Exists(file)) yield return new($"file '{file}' does not exist", [name]);
        if (!UseTls && (CaFile is { Length: > 0 } || CertificateFile is { Length: > 0 }))
            yield return new("a CA or client certificate is set but UseTls is false", [nameof(UseTls)]);
        if (User is { Length: > 0 } && Password is not { Length: > 0 } && PasswordFile is not { Length: > 0 })
            yield return new("an ACL user needs a password (Password or PasswordFile)", [nameof(User)]);
    }

    public static EngineCredentials From(IConfiguration configuration) =>
        configuration.GetSection(Section).Get<EngineCredentials>() ?? new EngineCredentials();
}
