using System.Globalization;
using System.Text.Json;

namespace ZeroDisk.Contracts;

/// <summary>
/// Formats event lines exactly as the seed spells them (a space after each colon and comma), added fields after
/// the seed's. This is the one way to write an event: the parser accepts a line only if it is byte for byte what
/// this writer makes of the event it reads (events cannot be forged).
/// </summary>
public static class StderrEventWriter
{
    /// <summary>The one spelling of <see cref="StderrEvent.Time"/>: UTC, 100 ns, a literal Z.</summary>
    public const string TimeFormat = "yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'";

    public static string Format(StderrEvent ev) => ev switch
    {
        StorageEngineFailureLine f => Seed(StderrEvent.StorageEngineFailureType, Quote(f.Address), f.Time),
        RepairCompleteLine r => Seed(RepairCompleteType(r.Kind), $"{{\"address\": {Quote(r.Address)}, \"vdiskid\": {Quote(r.VdiskId)}"
                                + (r.Incident is null ? "" : $", \"incident\": {Quote(r.Incident)}") + "}", r.Time),
        ProcessExitedLine p => Seed(StderrEvent.ProcessExitedType, $"{{\"role\": {Quote(p.Role.ToWire())}, \"id\": {Quote(p.Id)}, \"exitcode\": {Number(p.ExitCode)}"
                               + (p.Pid is { } pid ? $", \"pid\": {Number(pid)}" : "") + (p.StartTime is { } started ? $", \"started\": {Number(started)}" : "") + "}", p.Time),
        LegacyStorageStatusLine l => $"20::{{\"status\":{Number(l.Status)},\"subject\":{Quote(l.Subject)},\"data\":{{\"address\":{Quote(l.Address)},\"db\":{Number(l.Db)},\"type\":{Quote(l.Side)}"
                                     + (l.VdiskId is null ? "" : $",\"vdiskID\":{Quote(l.VdiskId)}") + "}}",
        _ => throw new ArgumentOutOfRangeException(nameof(ev), ev.GetType().Name, "unknown event"),
    };

    public static string RepairCompleteType(RepairKind kind) => kind switch
    {
        RepairKind.Tmp => StderrEvent.RepairTmpOutageCompleteType,
        RepairKind.Final => StderrEvent.RepairFinalOutageCompleteType,
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    public static string FormatTime(DateTimeOffset time) => time.UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture);

    private static string Seed(string type, string data, DateTimeOffset? time) =>
        $"{{\"type\": {Quote(type)}, \"data\": {data}" + (time is { } t ? $", \"time\": {Quote(FormatTime(t))}" : "") + "}";

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Quote(string value) => JsonSerializer.Serialize(value);
}
