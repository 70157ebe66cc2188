using System.Text;

namespace ZeroDisk.Nbd.Protocol;

/// <summary>
/// Client-controlled text (export names, option payloads) made safe to log: quoted, with every control character,
/// quote and backslash escaped and the length bounded, so a name can never end a log line or start a new one (an
/// export named <c>"x\n{"type": "storageengine-failure", …}"</c> must not become an event line, events cannot be forged).
/// </summary>
public static class LogText
{
    /// <summary>Longest part of a client string kept in a log record (proto.md: names SHOULD be at most 256 bytes).</summary>
    public const int MaxLoggedChars = 256;

    public static string Quote(string? text)
    {
        if (text is null) return "(null)";
        var builder = new StringBuilder(Math.Min(text.Length, MaxLoggedChars) + 2).Append('"');
        var kept = Math.Min(text.Length, MaxLoggedChars);
        for (var i = 0; i < kept; i++) AppendEscaped(builder, text[i]);
        builder.Append('"');
        if (text.Length > kept) builder.Append("…(").Append(text.Length).Append(" chars)");
        return builder.ToString();
    }

    /// <summary>Appends <paramref name="c"/>, escaped when it could break a line or the quoting.</summary>
    public static void AppendEscaped(StringBuilder builder, char c)
    {
        switch (c)
        {
            case '\n': builder.Append("\\n"); break;
            case '\r': builder.Append("\\r"); break;
            case '\t': builder.Append("\\t"); break;
            case '"': builder.Append("\\\""); break;
            case '\\': builder.Append("\\\\"); break;
            default:
                // C0/C1 controls, DEL and the Unicode line/paragraph separators: some readers split lines on them.
                if (char.IsControl(c) || c is '\u2028' or '\u2029') builder.Append("\\u").Append(((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture));
                else builder.Append(c);
                break;
        }
    }
}
