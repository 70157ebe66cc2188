using System.ComponentModel.DataAnnotations;
using ZeroDisk.Nbd.Security;

namespace ZeroDisk.Nbd;

/// <summary>
/// Limits of one NBD server. Memory is bounded by <see cref="MaxBufferedBytes"/> (payloads and queued replies of all
/// connections together) on top of the process's baseline; see docs/DECISIONS.md "nbd-edge".
/// </summary>
public sealed class NbdServerOptions : IValidatableObject
{
    /// <summary>The configuration section nbdhost serve reads these from.</summary>
    public const string Section = "Nbd";

    /// <summary>NBD's registered port.</summary>
    public const int DefaultPort = 10809;

    /// <summary>Largest READ/WRITE payload a client may send or ask for (advertised as the maximum block size).</summary>
    public const int MaxPayload = Protocol.NbdWire.MaxPayload;

    /// <summary>
    /// Requests of one connection that may run at once. A backend that answers synchronously never needs more
    /// than one; a slow one (network storage) keeps this many going while the receive loop reads on.
    /// </summary>
    public int MaxInFlightPerConnection { get; set; } = 64;

    /// <summary>
    /// Bytes of write payloads, read data and unsent replies one connection may hold. When it is reached the server
    /// stops reading that connection's requests until replies leave or requests finish (a client that sends and never
    /// reads its replies holds this much, no more). At least <see cref="MaxPayload"/>.
    /// </summary>
    public long MaxBufferedBytesPerConnection { get; set; } = 64L << 20;

    /// <summary>The same for all connections together; at least <see cref="MaxBufferedBytesPerConnection"/>.</summary>
    public long MaxBufferedBytes { get; set; } = 256L << 20;

    /// <summary>Connections open at once (handshaking or transmitting); one more is closed as soon as it is accepted.</summary>
    public int MaxConnections { get; set; } = 128;

    /// <summary>A client that has not finished option haggling by then is disconnected.</summary>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>During option haggling, a client that sends nothing for this long is disconnected.</summary>
    public TimeSpan HandshakeIdleTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>TLS (<c>Nbd:Tls:Mode</c>, <c>CertificateFile</c>, <c>KeyFile</c>, <c>ClientCaFile</c>).</summary>
    public NbdTlsOptions Tls { get; set; } = new();

    /// <summary>Which clients may open which export (<c>Nbd:Access:Enabled</c>, <c>AllExports</c>, <c>Exports:&lt;name&gt;</c>).</summary>
    public NbdAccessOptions Access { get; set; } = new();

    /// <summary>What is wrong with these options (empty when they are usable).</summary>
    public IReadOnlyList<string> Problems() => [.. Issues().Select(i => i.Member is null ? i.Message : $"{i.Member}: {i.Message}")];

    private List<(string? Member, string Message)> Issues()
    {
        var problems = new List<string>();
        if (MaxInFlightPerConnection < 1) problems.Add($"MaxInFlightPerConnection must be at least 1 (is {MaxInFlightPerConnection})");
        if (MaxBufferedBytesPerConnection < MaxPayload)
            problems.Add($"MaxBufferedBytesPerConnection must be at least {MaxPayload} bytes, one maximum-size request (is {MaxBufferedBytesPerConnection})");
        if (MaxBufferedBytes < MaxBufferedBytesPerConnection)
            problems.Add($"MaxBufferedBytes must be at least MaxBufferedBytesPerConnection (is {MaxBufferedBytes} < {MaxBufferedBytesPerConnection})");
        if (MaxConnections < 1) problems.Add($"MaxConnections must be at least 1 (is {MaxConnections})");
        if (HandshakeTimeout <= TimeSpan.Zero) problems.Add($"HandshakeTimeout must be positive (is {HandshakeTimeout})");
        if (HandshakeIdleTimeout <= TimeSpan.Zero) problems.Add($"HandshakeIdleTimeout must be positive (is {HandshakeIdleTimeout})");
        List<(string? Member, string Message)> issues = [.. problems.Select(p => ((string?)null, p)), .. Tls.Problems().Select(p => ((string?)p.Member, p.Message)),
            .. Access.Problems(Tls).Select(p => ((string?)p.Member, p.Message))];
        if (issues.Count == 0 && Tls.Mode != NbdTlsMode.Off)
        {
            // The files exist: load them now, so one that is not a usable certificate or key fails the start by name.
            try { NbdSecurity.From(this); }
            catch (NbdTlsFileException bad) { issues.Add((bad.Key["Nbd:".Length..], bad.Problem)); }
        }
        return issues;
    }

    // A setting of a subsection is named by its path (Nbd:Tls:CertificateFile), as operators write it.
    IEnumerable<ValidationResult> IValidatableObject.Validate(ValidationContext context) =>
        Issues().Select(i => i.Member is null ? new ValidationResult(i.Message) : new ValidationResult(i.Message, [i.Member]));
}
