using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

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
/// Reads the event lines of <see cref="StderrEvent"/> (and the 0-Disk <c>20::</c> form). Events cannot be forged:
/// a line is an event only if it starts, at its very first byte, with <c>{</c> or
/// <c>20::</c> — no indentation, no log prefix, nothing trimmed — and a seed-form line must moreover be exactly what
/// <see cref="StderrEventWriter"/> writes for the event it holds (same fields, order, spacing and escaping). Text that
/// merely contains an event (inside a log record, after a prefix, re-spaced) is ordinary or malformed, never an
/// event. Never throws.
/// </summary>
public static class StderrEventParser
{
    private const string LegacyPrefix = "20::";
    private static ReadOnlySpan<byte> LegacyPrefixUtf8 => "20::"u8; // LegacyPrefix
    private const string TypeKey = "\"type\"";
    private static ReadOnlySpan<byte> TypeKeyUtf8 => "\"type\""u8; // TypeKey

    public static StderrParseResult Parse(string line) => ParseText(line);

    /// <summary>
    /// The same verdict as <see cref="Parse(string)"/> on the decoded line, but an ordinary line is recognised on its
    /// bytes, without being decoded into a string: a collector reads every line of a node's logs, most of them ordinary.
    /// </summary>
    public static StderrParseResult Parse(ReadOnlySpan<byte> utf8Line)
    {
        if (!Utf8.IsValid(utf8Line))
            return StderrParseResult.Malformed("invalid UTF-8");
        // ASCII bytes are the same characters in UTF-8 and UTF-16, so these tests are ParseText's own.
        if (utf8Line.Contains((byte)0))
            return BinaryLine;
        if (!utf8Line.StartsWith(LegacyPrefixUtf8) && (utf8Line.IsEmpty || utf8Line[0] != (byte)'{' || utf8Line.IndexOf(TypeKeyUtf8) < 0))
            return StderrParseResult.Ordinary;
        return ParseText(Encoding.UTF8.GetString(utf8Line));
    }

    private static StderrParseResult BinaryLine => StderrParseResult.Malformed("binary data (NUL byte) in line");

    private static StderrParseResult ParseText(string line)
    {
        if (line.Contains('\0'))
            return BinaryLine;
        if (line.StartsWith(LegacyPrefix, StringComparison.Ordinal))
            return ParseLegacy(line[LegacyPrefix.Length..]);
        if (line.Length == 0 || line[0] != '{' || !line.Contains(TypeKey, StringComparison.Ordinal))
            return StderrParseResult.Ordinary;
        var parsed = ParseSeedForm(line);
        // Only the writer's own spelling counts: a hand-made, re-spaced or extended line is not the event it resembles.
        if (parsed.Event is { } ev && StderrEventWriter.Format(ev) != line)
            return StderrParseResult.Malformed($"not the exact event form (expected {StderrEventWriter.Format(ev)})");
        return parsed;
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
            var result = type switch
            {
                StderrEvent.StorageEngineFailureType => hasData && data.ValueKind == JsonValueKind.String && ConfigValidation.IsHostPort(data.GetString())
                    ? new(StderrLineKind.Event, new StorageEngineFailureLine(data.GetString()!))
                    : StderrParseResult.Malformed("storageengine-failure: data must be a \"host:port\" string"),
                StderrEvent.RepairTmpOutageCompleteType => ParseRepairComplete(RepairKind.Tmp, hasData, data),
                StderrEvent.RepairFinalOutageCompleteType => ParseRepairComplete(RepairKind.Final, hasData, data),
                StderrEvent.ProcessExitedType => ParseProcessExited(hasData, data),
                _ => StderrParseResult.Ordinary,
            };
            if (result.Event is not { } ev || !root.TryGetProperty("time", out var time)) return result;
            return time.ValueKind == JsonValueKind.String
                   && DateTimeOffset.TryParseExact(time.GetString(), StderrEventWriter.TimeFormat, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)
                ? result with { Event = ev with { Time = at } }
                : StderrParseResult.Malformed($"{type}: \"time\" must be a UTC time like {StderrEventWriter.FormatTime(DateTimeOffset.UnixEpoch)}");
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
        int? pid = null;
        long? started = null;
        if (data.TryGetProperty("pid", out var pidElement))
            pid = pidElement.ValueKind == JsonValueKind.Number && pidElement.TryGetInt32(out var p) ? p : -1;
        if (data.TryGetProperty("started", out var startedElement))
            started = startedElement.ValueKind == JsonValueKind.Number && startedElement.TryGetInt64(out var t) ? t : -1;
        if (pid < 0)
            return StderrParseResult.Malformed("process-exited: \"pid\" must be a non-negative integer");
        return new(StderrLineKind.Event, new ProcessExitedLine(parsedRole, id!, exitCode, pid, started));
    }

    private static StderrParseResult ParseLegacy(string json)
    {
        if (!json.StartsWith('{'))
            return StderrParseResult.Malformed("20:: must be followed at once by a JSON object");
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
