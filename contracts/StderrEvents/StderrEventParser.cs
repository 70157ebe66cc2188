using System.Text;
using System.Text.Json;

namespace ZeroDisk.Contracts;

public enum StderrLineKind
{
    /// <summary>An ordinary log line, not an event.</summary>
    Ordinary,
    /// <summary>A recognised, well-formed event.</summary>
    Event,
    /// <summary>A line that claims to be an event (or is not text) but cannot be read as one.</summary>
    Malformed,
}

/// <summary>The result of reading one stderr line: its kind, the event if any, and why it was malformed if it was.</summary>
public readonly record struct StderrParseResult(StderrLineKind Kind, StderrEvent? Event = null, string? Error = null)
{
    public static StderrParseResult Ordinary => new(StderrLineKind.Ordinary);
    public static StderrParseResult Malformed(string error) => new(StderrLineKind.Malformed, null, error);
}

/// <summary>
/// Reads the event lines of <see cref="StderrEvent"/> (and the 0-Disk <c>20::</c> form). A line is an event
/// candidate when it is a JSON object with a "type" the suite knows, or starts with <c>20::</c>; anything else is
/// an ordinary log line. Never throws.
/// </summary>
public static class StderrEventParser
{
    private const string LegacyPrefix = "20::";
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static StderrParseResult Parse(string line) => ParseText(line.AsSpan().Trim());

    public static StderrParseResult Parse(ReadOnlySpan<byte> utf8Line)
    {
        string text;
        try
        {
            text = StrictUtf8.GetString(utf8Line);
        }
        catch (DecoderFallbackException)
        {
            return StderrParseResult.Malformed("invalid UTF-8");
        }
        return ParseText(text.AsSpan().Trim());
    }

    private static StderrParseResult ParseText(ReadOnlySpan<char> line)
    {
        if (line.IndexOf('\0') >= 0)
            return StderrParseResult.Malformed("binary data (NUL byte) in line");
        if (line.StartsWith(LegacyPrefix, StringComparison.Ordinal))
            return ParseLegacy(line[LegacyPrefix.Length..].ToString());
        if (line.IsEmpty || line[0] != '{' || line.IndexOf("\"type\"", StringComparison.Ordinal) < 0)
            return StderrParseResult.Ordinary;
        return ParseSeedForm(line.ToString());
    }

    private static StderrParseResult ParseSeedForm(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("type", out var typeElement) || typeElement.ValueKind != JsonValueKind.String)
                return StderrParseResult.Ordinary;
            var type = typeElement.GetString();
            var hasData = root.TryGetProperty("data", out var data);
            return type switch
            {
                StderrEvent.StorageEngineFailureType => hasData && data.ValueKind == JsonValueKind.String && ConfigValidation.IsHostPort(data.GetString())
                    ? new(StderrLineKind.Event, new StorageEngineFailureLine(data.GetString()!))
                    : StderrParseResult.Malformed("storageengine-failure: data must be a \"host:port\" string"),
                StderrEvent.RepairTmpOutageCompleteType => ParseRepairComplete(RepairKind.Tmp, hasData, data),
                StderrEvent.RepairFinalOutageCompleteType => ParseRepairComplete(RepairKind.Final, hasData, data),
                StderrEvent.ProcessExitedType => ParseProcessExited(hasData, data),
                _ => StderrParseResult.Ordinary,
            };
        }
        catch (JsonException ex)
        {
            return StderrParseResult.Malformed($"bad JSON: {ex.Message}");
        }
    }

    private static StderrParseResult ParseRepairComplete(RepairKind kind, bool hasData, JsonElement data)
    {
        var name = StderrEventWriter.RepairCompleteType(kind);
        if (!hasData || data.ValueKind != JsonValueKind.Object)
            return StderrParseResult.Malformed($"{name}: data must be an object");
        var address = GetString(data, "address");
        var vdisk = GetString(data, "vdiskid");
        if (!ConfigValidation.IsHostPort(address) || string.IsNullOrEmpty(vdisk))
            return StderrParseResult.Malformed($"{name}: data needs \"address\" (host:port) and \"vdiskid\" strings");
        var incident = data.TryGetProperty("incident", out var inc) && inc.ValueKind == JsonValueKind.String ? inc.GetString() : null;
        return new(StderrLineKind.Event, new RepairCompleteLine(kind, address!, vdisk!, incident));
    }

    private static StderrParseResult ParseProcessExited(bool hasData, JsonElement data)
    {
        if (!hasData || data.ValueKind != JsonValueKind.Object)
            return StderrParseResult.Malformed("process-exited: data must be an object");
        var role = GetString(data, "role");
        var id = GetString(data, "id");
        if (!WireNames<ProcessRole>.TryParse(role, out var parsedRole) || string.IsNullOrEmpty(id)
            || !data.TryGetProperty("exitcode", out var code) || code.ValueKind != JsonValueKind.Number || !code.TryGetInt32(out var exitCode))
            return StderrParseResult.Malformed("process-exited: data needs \"role\" (nbdserver|tlogserver), \"id\" and an integer \"exitcode\"");
        return new(StderrLineKind.Event, new ProcessExitedLine(parsedRole, id!, exitCode));
    }

    private static StderrParseResult ParseLegacy(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("status", out var status) || !status.TryGetInt32(out var statusCode)
                || GetString(root, "subject") is not { } subject
                || !root.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Object)
                return StderrParseResult.Malformed("20:: line needs an integer \"status\", a \"subject\" string and a \"data\" object");
            var address = GetString(data, "address");
            var side = GetString(data, "type");
            if (!ConfigValidation.IsHostPort(address) || side is not ("primary" or "slave"))
                return StderrParseResult.Malformed("20:: data needs \"address\" (host:port) and \"type\" (primary|slave)");
            var db = data.TryGetProperty("db", out var dbElement) && dbElement.TryGetInt32(out var d) ? d : 0;
            return new(StderrLineKind.Event, new LegacyStorageStatusLine(statusCode, subject, address!, db, side, GetString(data, "vdiskID")));
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
        {
            return StderrParseResult.Malformed($"bad 20:: JSON: {ex.Message}");
        }
    }

    private static string? GetString(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
