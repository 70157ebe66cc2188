using System.Security.Authentication;
using StackExchange.Redis;
using ZeroDisk.ServiceDefaults.Security;

namespace ZeroDisk.ServiceDefaults.Engines;

/// <summary>
/// The one place a StackExchange.Redis connection to a storage engine is configured: every service and tool builds
/// its options here, so the engines' user, password and TLS (<see cref="EngineCredentials"/>) reach every connection.
/// </summary>
public static class EngineConnection
{
    /// <param name="configuration">An engine address with optional StackExchange.Redis options, e.g. <c>127.0.0.1:6379,allowAdmin=true</c>.</param>
    public static ConfigurationOptions Options(string configuration, EngineCredentials? credentials = null)
    {
        var options = ConfigurationOptions.Parse(configuration);
        Apply(options, credentials ?? ProcessCredentials.Engines);
        return options;
    }

    public static void Apply(ConfigurationOptions options, EngineCredentials credentials)
    {
        if (credentials.User is { Length: > 0 } user) options.User = user;
        if (credentials.ResolvedPassword() is { } password) options.Password = password;
        if (!credentials.UseTls) return;
        options.Ssl = true;
        options.SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13;
        if (credentials.CaFile is { Length: > 0 } ca) options.TrustIssuer(ca);
        if (credentials.CertificateFile is { Length: > 0 } file)
        {
            var certificate = Security.ClientTls.ClientCertificate(file, credentials.KeyFile);
            options.CertificateSelection += (_, _, _, _, _) => certificate;
        }
    }

    public static Task<ConnectionMultiplexer> ConnectAsync(string configuration, EngineCredentials? credentials = null) =>
        ConnectionMultiplexer.ConnectAsync(Options(configuration, credentials));
}
