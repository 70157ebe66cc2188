using Microsoft.Extensions.Configuration;
using ZeroDisk.ServiceDefaults.Security;

namespace ZeroDisk.ServiceDefaults.Etcd;

/// <summary>
/// How every ZeroDisk process authenticates to etcd: a user and password (etcd's <c>auth enable</c>; a token is
/// obtained with them and sent with every call, <see cref="EtcdAuthentication"/>), and for <c>https://</c> endpoints
/// the CA the members' certificates chain to and an optional client certificate. Section <c>Etcd</c> (environment
/// <c>Etcd__User</c>, <c>Etcd__PasswordFile</c>, …); the endpoints stay in <c>ETCD_ENDPOINTS</c>.
/// </summary>
public sealed class EtcdCredentials : StoreCredentials
{
    public const string Section = "Etcd";

    public bool Authenticates => User is { Length: > 0 };

    /// <summary>What operators may see: never the password.</summary>
    public override string ToString() => $"user={(Authenticates ? User : "(none)")}, password={MaskedPassword}";

    public static EtcdCredentials From(IConfiguration configuration) =>
        configuration.GetSection(Section).Get<EtcdCredentials>() ?? new EtcdCredentials();
}
