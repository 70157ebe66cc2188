namespace ZeroDisk.Zdctl.Cli;

/// <summary>What a script can tell from zdctl's exit status.</summary>
public static class ExitCodes
{
    public const int Ok = 0;
    /// <summary>The service answered and refused (404, 409, 503…), or what was awaited did not happen.</summary>
    public const int Refused = 1;
    /// <summary>Bad command line: unknown command or option, malformed value.</summary>
    public const int BadInput = 2;
    /// <summary>etcd or the admin API did not answer.</summary>
    public const int Unreachable = 3;
}

/// <summary>A failure zdctl explains in one line and ends with <see cref="ExitCode"/>.</summary>
public sealed class ZdctlException(int exitCode, string message, Exception? inner = null) : Exception(message, inner)
{
    public int ExitCode { get; } = exitCode;
}
