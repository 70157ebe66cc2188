using ZeroDisk.Contracts;

namespace ZeroDisk.Storage;

/// <summary>
/// Where this process writes its event lines: stderr, which the node agent makes the process's log file, the stream
/// the node's LogCollector takes events from. Only <see cref="StderrEventWriter"/> writes event lines (events cannot
/// be forged): every other record this process logs is one line that cannot start with an event.
/// </summary>
public interface IStderrEvents
{
    void Write(StderrEvent ev);
}

/// <summary>
/// Writes each event as one line on the process's stderr, flushed at once, stamped with the time it happened and —
/// for a repair completion — the engine's incident (failure reports are hints, state is etcd).
/// </summary>
public sealed class ConsoleStderrEvents(EngineIncidents? incidents = null, TimeProvider? time = null) : IStderrEvents
{
    private readonly Lock _gate = new();
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public void Write(StderrEvent ev)
    {
        var line = StderrEventWriter.Format(Stamp(ev));
        // Also under Console.Out's own lock (a synchronized writer locks itself): when stdout and stderr are one log
        // file, a long log record, written in several chunks, never has an event line land inside it.
        lock (_gate)
        lock (Console.Out)
        {
            Console.Error.WriteLine(line);
            Console.Error.Flush();
        }
    }

    /// <summary>The event as it is written: its own time (if the caller set none) and, for a completion, its incident.</summary>
    public StderrEvent Stamp(StderrEvent ev)
    {
        if (ev is RepairCompleteLine { Incident: null } done && incidents?.Of(done.Address, done.Kind) is { } incident)
            ev = done with { Incident = incident };
        return ev.Time is null ? ev with { Time = _time.GetUtcNow() } : ev;
    }
}
