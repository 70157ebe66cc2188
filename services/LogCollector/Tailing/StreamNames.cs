using System.Text.RegularExpressions;

namespace ZeroDisk.LogCollector.Tailing;

/// <summary>
/// The stream a log file belongs to, from its name. A file the collector first sees under a rotated name
/// (<c>nbd-vm3.log.1</c>, or logrotate's <c>dateext</c> form <c>nbd-vm3.log-20261125</c>) was created and rotated
/// between two looks; it is still that process's stream, so the rotation suffix is dropped. Compressed rotations are
/// not tailed at all: their lines were read from the file before it was compressed (the collector holds it open).
/// </summary>
internal static partial class StreamNames
{
    public static string Of(string fileName) => RotationSuffix().Replace(fileName, "");

    public static bool IsCompressed(string fileName) =>
        fileName.EndsWith(".gz", StringComparison.Ordinal) || fileName.EndsWith(".xz", StringComparison.Ordinal)
        || fileName.EndsWith(".bz2", StringComparison.Ordinal) || fileName.EndsWith(".zst", StringComparison.Ordinal);

    // ".1" … ".99999" or "-20261125" (optionally "-2026112512"), once, at the end of a name that keeps something before it.
    [GeneratedRegex(@"(?<=.)(\.[0-9]{1,5}|-[0-9]{8}(?:[0-9]{2})?)$", RegexOptions.CultureInvariant)]
    private static partial Regex RotationSuffix();
}
