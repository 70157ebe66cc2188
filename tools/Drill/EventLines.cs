using ZeroDisk.Contracts;

namespace ZeroDisk.Drill;

/// <summary>
/// The events in a process's log stream, read as the collector reads them: the writers add fields the drill cannot
/// predict (the event's time, the exit's pid and start time, the repair's incident), so lines are parsed and the
/// events compared by what they say, never by their text.
/// </summary>
public static class EventLines
{
    public static IEnumerable<StderrEvent> In(string logFile) =>
        File.Exists(logFile)
            ? File.ReadLines(logFile).Select(l => StderrEventParser.Parse(l).Event).OfType<StderrEvent>()
            : [];

    public static bool IsExit(StderrEvent e, ProcessRole role, string id, int exitCode) =>
        e is ProcessExitedLine x && x.Role == role && x.Id == id && x.ExitCode == exitCode;
}
