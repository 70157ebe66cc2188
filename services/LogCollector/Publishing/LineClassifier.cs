using System.Text;
using Microsoft.Extensions.Logging;
using ZeroDisk.Contracts;
using ZeroDisk.LogCollector.Hosting;
using ZeroDisk.LogCollector.Tailing;
using ZeroDisk.LogCollector.Telemetry;

namespace ZeroDisk.LogCollector.Publishing;

/// <summary>
/// Turns lines into contracts: seed events, process-exited and the 0-Disk <c>20::</c> ardb form become typed events
/// — only exact event lines, from a line's first byte (<see cref="StderrEventParser"/>: events cannot be forged); the
/// line's own time travels as <see cref="EventSource.OccurredAt"/>; other lines are ordinary (forwarded or dropped per config); malformed event lines are counted and logged with
/// file and offset, and skipped.
/// </summary>
internal sealed class LineClassifier(LogCollectorOptions options, ILogger<LineClassifier> logger)
{
    /// <summary>The 0-Disk subject of storage engine (ARDB) reports; other subjects are not engine failures.</summary>
    private const string LegacyStorageSubject = "ardb";

    /// <summary>Moves complete lines from <paramref name="splitter"/> into <paramref name="batch"/> until it is full or no complete line is left.</summary>
    public void Drain(LineSplitter splitter, LineOrigin origin, LineBatch batch)
    {
        while (!batch.IsFull && splitter.TryReadLine(out var line))
        {
            var message = line.Kind == LineKind.Overlong
                ? Malformed(origin, line.Offset, $"line longer than {options.MaxLineBytes} bytes (skipped)")
                : Classify(origin, line.Offset, line.Bytes);
            batch.Consumed(line.NextOffset, line.Bytes.Length, message);
        }
    }

    private OutgoingMessage? Classify(LineOrigin origin, long offset, ReadOnlySpan<byte> bytes)
    {
        var parsed = StderrEventParser.Parse(bytes);
        switch (parsed.Kind)
        {
            case StderrLineKind.Event when ToContract(parsed.Event!, Source(origin, offset) with { OccurredAt = parsed.Event!.Time }) is { } contract:
                return Outgoing(origin, offset, contract);
            case StderrLineKind.Malformed:
                return Malformed(origin, offset, parsed.Error ?? "malformed");
            default:
                CollectorTelemetry.OrdinaryLines.Add(1, CollectorTelemetry.StreamTags(origin.Node, origin.Stream));
                if (!options.ForwardOrdinaryLines || bytes.IsEmpty) return null;
                // The parser decoded it strictly already (invalid UTF-8 is malformed), so this cannot lose bytes.
                return Outgoing(origin, offset, new LogLineForwarded { Line = Encoding.UTF8.GetString(bytes), Source = Source(origin, offset) });
        }
    }

    private static object? ToContract(StderrEvent ev, EventSource source) => ev switch
    {
        StorageEngineFailureLine f => new StorageEngineFailureReported { Address = f.Address, Source = source },
        LegacyStorageStatusLine l when string.Equals(l.Subject, LegacyStorageSubject, StringComparison.OrdinalIgnoreCase) =>
            new StorageEngineFailureReported { Address = l.Address, VdiskId = l.VdiskId, Source = source },
        RepairCompleteLine r => new VdiskRepairCompleted { Address = r.Address, VdiskId = r.VdiskId, Kind = r.Kind, Incident = r.Incident, Source = source },
        ProcessExitedLine p => new ProcessExited { Role = p.Role, Id = p.Id, ExitCode = p.ExitCode, Pid = p.Pid, StartTime = p.StartTime, Source = source },
        _ => null, // a 20:: report about something other than a storage engine: an ordinary line here
    };

    private OutgoingMessage? Malformed(LineOrigin origin, long offset, string reason)
    {
        CollectorTelemetry.MalformedLines.Add(1, CollectorTelemetry.StreamTags(origin.Node, origin.Stream));
        logger.LogWarning("Malformed event line in {File} at offset {Offset} (stream {Stream}, generation {Generation}): {Reason}",
            origin.Path, offset, origin.Stream, origin.Generation, reason);
        return null;
    }

    private static EventSource Source(LineOrigin origin, long offset) =>
        new() { Node = origin.Node, Stream = origin.Stream, Offset = offset, ObservedAt = DateTimeOffset.UtcNow };

    private static OutgoingMessage Outgoing(LineOrigin origin, long offset, object contract) =>
        new(contract, contract.GetType(), MessageIds.ForLine(origin.Node, origin.Stream, origin.Inode, origin.Generation, offset), origin.Stream, offset);
}
