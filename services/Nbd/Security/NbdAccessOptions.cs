namespace ZeroDisk.Nbd.Security;

/// <summary>
/// Which clients may open which export (<c>Nbd:Access</c>). A client is named by its TLS certificate: the subject's
/// common name (CN), verified against <see cref="NbdTlsOptions.ClientCaFile"/>. Enabled, a client sees in
/// NBD_OPT_LIST and may open only the exports that name it (or every export, if <see cref="AllExports"/> names it);
/// for any other the answer is the same as for an export that does not exist.
/// </summary>
public sealed class NbdAccessOptions
{
    public bool Enabled { get; set; }

    /// <summary>Client names (CN) that may open every export, comma-separated: e.g. the VM host this server serves.</summary>
    public string? AllExports { get; set; }

    /// <summary>Per export (vdisk id): the client names (CN) that may open it, comma-separated.</summary>
    public Dictionary<string, string> Exports { get; set; } = new(StringComparer.Ordinal);

    internal IEnumerable<(string Member, string Message)> Problems(NbdTlsOptions tls)
    {
        if (!Enabled) yield break;
        if (tls.Mode != NbdTlsMode.Required)
            yield return ("Access:Enabled", "needs Tls:Mode Required: a client is known only by its verified certificate");
        if (string.IsNullOrWhiteSpace(tls.ClientCaFile))
            yield return ("Access:Enabled", "needs Tls:ClientCaFile: a client is known only by its verified certificate");
    }

    internal static IReadOnlySet<string> Names(string? list) =>
        (list ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
}
