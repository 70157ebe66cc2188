namespace ZeroDisk.ServiceDefaults.Security;

/// <summary>
/// A password given either in a file (the way to deploy it: <c>chmod 600</c>, never in a process list or a unit file)
/// or directly in configuration (an environment variable; for tests and compose secrets). The file wins when both are set.
/// </summary>
public static class SecretSource
{
    /// <returns>The secret with a trailing newline removed, or null when neither is set.</returns>
    public static string? Read(string? value, string? file)
    {
        if (file is { Length: > 0 }) return File.ReadAllText(file).TrimEnd('\r', '\n');
        return value is { Length: > 0 } ? value : null;
    }

    /// <summary>Configuration problems of a secret file: it must exist and hold something.</summary>
    public static IEnumerable<string> Problems(string? file)
    {
        if (file is not { Length: > 0 }) yield break;
        if (!File.Exists(file)) yield return $"file '{file}' does not exist";
        else if (new FileInfo(file).Length == 0) yield return $"file '{file}' is empty";
    }
}
