using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Configuration;
using ZeroDisk.ServiceDefaults.Security;

namespace ZeroDisk.ServiceDefaults.Engines;

/// <summary>
/// How every ZeroDisk process authenticates to the storage engines (redis-server): an ACL user and password
/// (<c>AUTH</c>), and TLS with the engines' CA and an optional client certificate. Section <c>Engines</c>
/// (environment <c>Engines__Password</c>, …). Plain properties and <see cref="ClientTls"/> so a client that is not
/// StackExchange.Redis uses the same settings; <see cref="EngineConnection"/> applies them to StackExchange.Redis.
/// </summary>
public sealed class EngineCredentials : StoreCredentials
{
    public const string Section = "Engines";

    /// <summary>Connect with TLS (redis-server <c>--tls-port</c>); the addresses in etcd are then the TLS ports.</summary>
    public bool UseTls { get; set; }

    /// <summary>What operators may see: never the password. An empty user is Redis's <c>default</c> user, i.e. <c>requirepass</c>.</summary>
    public override string ToString() =>
        $"user={(User is { Length: > 0 } ? User : "(default)")}, password={MaskedPassword}, tls={(UseTls ? "on" : "off")}";

    public override IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var problem in base.Validate(validationContext)) yield return problem;
        if (!UseTls && HasTlsFiles) yield return new("a CA or client certificate is set but UseTls is false", [nameof(UseTls)]);
    }

    public static EngineCredentials From(IConfiguration configuration) =>
        configuration.GetSection(Section).Get<EngineCredentials>() ?? new EngineCredentials();
}
