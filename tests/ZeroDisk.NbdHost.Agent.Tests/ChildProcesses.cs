using System.Diagnostics;

namespace ZeroDisk.NbdHost.Agent.Tests;

/// <summary>Looks at and kills supervised children by pid (they are not the test's children) and reads their log streams.</summary>
public static class ChildProcesses
{

    public static void SigKill(int pid)
    {
        using var process = Process.GetProcessById(pid);
        process.Kill();
    }

    public static void KillQuietly(int pid)
    {
        try { SigKill(pid); }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException) { /* already gone */ }
    }

    /// <summary>
    /// The process-exited event in a log stream (without the pid, start time and time that identify the exit, so
    /// tests compare role, id and code), waiting for it by polling every millisecond.
    /// </summary>
    public static async Task<ProcessExitedLine> WaitForExitLineAsync(string logFile, TimeSpan timeout)
    {
        var exited = await Eventually.ValueAsync(async () =>
            File.Exists(logFile) ? (await File.ReadAllLinesAsync(logFile)).Select(line => StderrEventParser.Parse(line).Event).OfType<ProcessExitedLine>().FirstOrDefault() : null,
            line => line is not null, timeout, TimeSpan.FromMilliseconds(1), $"a process-exited line in {logFile}",
            () => File.Exists(logFile) ? File.ReadAllText(logFile) : "(no file)");
        return exited! with { Pid = null, StartTime = null, Time = null };
    }
}
