using System.Net;
using System.Net.Security;

namespace ZeroDisk.Storage.Resp;

/// <summary>
/// Where and how a <see cref="RespConnection"/> connects: the engine, its database, the credentials sent with
/// <c>AUTH [user] password</c> on every connect, and TLS (an <see cref="SslStream"/> over the socket) when
/// <see cref="Tls"/> is given.
/// </summary>
public sealed record RespConnectionOptions
{
    public required EndPoint EndPoint { get; init; }

    /// <summary>Selected on every connect when not 0.</summary>
    public int Database { get; init; }

    /// <summary>The ACL user; null with a password: the legacy <c>AUTH password</c> (the <c>default</c> user).</summary>
    public string? User { get; init; }

    /// <summary>Sent with <c>AUTH</c> on every connect when set.</summary>
    public string? Password { get; init; }

    /// <summary>TLS over the socket when set (target host, certificate validation, client certificate).</summary>
    public SslClientAuthenticationOptions? Tls { get; init; }

    /// <summary>Connecting, the TLS handshake and AUTH/SELECT together take at most this long.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// Longest wait for a reply, from the moment the command is queued on the connection: past it the connection is
    /// failed (every command on it fails with a timeout), so a hung engine is noticed within this plus
    /// <see cref="TimeoutCheckInterval"/>.
    /// </summary>
    public TimeSpan CommandTimeout { get; init; } = TimeSpan.FromMilliseconds(800);

    /// <summary>How often the oldest command's age is checked.</summary>
    public TimeSpan TimeoutCheckInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Sent with <c>CLIENT SETNAME</c> on connect when set (engines show who is connected).</summary>
    public string? ClientName { get; init; }
}
