using System.Text.Json;

namespace ZeroDisk.Contracts;

/// <summary>Formats event lines exactly as the seed spells them (a space after each colon and comma).</summary>
public static class StderrEventWriter
{
    public static string Format(StderrEvent ev) => ev switch
    {
        StorageEngineFailureLine f => $"{{\"type\": {Quote(StderrEvent.StorageEngineFailureType)}, \"data\": {Quote(f.Address)}}}",
        RepairCompleteLine r => $"{{\"type\": {Quote(RepairCompleteType(r.Kind))}, \"data\": {{\"address\": {Quote(r.Address)}, \"vdiskid\": {Quote(r.VdiskId)}"
                                + (r.Incident is null ? "" : $", \"incident\": {Quote(r.Incident)}") + "}}",
        ProcessExitedLine p => $"{{\"type\": {Quote(StderrEvent.ProcessExitedType)}, \"data\": {{\"role\": {Quote(p.Role.ToWire())}, \"id\": {Quote(p.Id)}, \"exitcode\": {p.ExitCode}}}}}",
        LegacyStorageStatusLine l => $"20::{{\"status\":{l.Status},\"subject\":{Quote(l.Subject)},\"data\":{{\"address\":{Quote(l.Address)},\"db\":{l.Db},\"type\":{Quote(l.Side)}"
                                     + (l.VdiskId is null ? "" : $",\"vdiskID\":{Quote(l.VdiskId)}") + "}}",
        _ => throw new ArgumentOutOfRangeException(nameof(ev), ev.GetType().Name, "unknown event"),
    };

    public static string RepairCompleteType(RepairKind kind) => kind switch
    {
        RepairKind.Tmp => StderrEvent.RepairTmpOutageCompleteType,
        RepairKind.Final => StderrEvent.RepairFinalOutageCompleteType,
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    private static string Quote(string value) => JsonSerializer.Serialize(value);
}
