using System.CommandLine.Parsing;

namespace ZeroDisk.Zdctl.Vdisks;

/// <summary>A vdisk's size is whole GiB in its static config (<c>size</c> of <c>&lt;vdiskID&gt;:vdisk:conf:static</c>); accepts "10", "10G" and "10GiB".</summary>
public static class GibSize
{
    public static long Parse(ArgumentResult result)
    {
        var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : "";
        var digits = text.EndsWith("GiB", StringComparison.OrdinalIgnoreCase) ? text[..^3]
            : text.EndsWith('G') || text.EndsWith('g') ? text[..^1]
            : text;
        if (long.TryParse(digits, System.Globalization.NumberStyles.None, null, out var gib) && gib > 0) return gib;
        result.AddError($"--size '{text}' must be a whole number of GiB, e.g. 10 or 10GiB");
        return 0;
    }
}
