using ZeroDisk.Contracts;

namespace ZeroDisk.NbdHost.Failover;

/// <summary>Where this process writes its event lines (stderr, read by the node's LogCollector).</summary>
public interface IStderrEvents
{
    void Write(StderrEvent ev);
}

/// <summary>Writes each event as one line on the process's stderr, flushed at once.</summary>
public sealed class ConsoleStderrEvents : IStderrEvents
{
    private readonly Lock _gate = new();

    public void Write(StderrEvent ev)
    {
        var line = StderrEventWriter.Format(ev);
        // Also under Console.Out's own lock (a synchronized writer locks itself): when stdout and stderr are one log
        // file, a long log record, written in several chunks, never has an event line land inside it.
        lock (_gate)
        lock (Console.Out)
        {
            Console.Error.WriteLine(line);
            Console.Error.Flush();
        }
    }
}
