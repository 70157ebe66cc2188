using System.Text.RegularExpressions;

namespace ZeroDisk.ServiceDefaults.Security;

/// <summary>
/// Hides the password of a URI's user information (<c>amqp://user:secret@host/</c> becomes <c>amqp://user:***@host/</c>)
/// wherever a URI may reach an operator: logs, health answers, traces, zdctl output.
/// </summary>
public static partial class SecretMasking
{
    public const string Mask = "***";

    public static string MaskUri(Uri uri) => MaskUris(uri.OriginalString);

    /// <summary>Every <c>scheme://user:password@</c> in <paramref name="text"/> with the password masked.</summary>
    public static string MaskUris(string? text) =>
        string.IsNullOrEmpty(text) ? text ?? "" : UserInfo().Replace(text, m => $"{m.Groups["prefix"].Value}{Mask}@");

    [GeneratedRegex(@"(?<prefix>[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@]*:)[^\s/@]*@", RegexOptions.CultureInvariant)]
    private static partial Regex UserInfo();
}
