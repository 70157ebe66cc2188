using System.Diagnostics;

namespace ZeroDisk.Drill;

/// <summary>A service of the drill's stack: a real process, its output in a log file, killed when the drill ends.</summary>
public sealed class ManagedProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Func<ManagedProcess> _startAgain;

    private ManagedProcess(string name, Process process, string logPath, Func<ManagedProcess> startAgain)
    {
        Name = name;
        _process = process;
        LogPath = logPath;
        _startAgain = startAgain;
    }

    public string Name { get; }
    public string LogPath { get; }
    public bool IsRunning => !_process.HasExited;
    public int Pid => _process.Id;

    public static ManagedProcess Start(string name, string fileName, IEnumerable<string> args, IReadOnlyDictionary<string, string> environment, string logDirectory)
    {
        Directory.CreateDirectory(logDirectory);
        var logPath = Path.Combine(logDirectory, name + ".out");
        var psi = new ProcessStartInfo(fileName) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in environment) psi.Environment[k] = v;
        var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {name}");
        var log = new StreamWriter(logPath, append: true) { AutoFlush = true };
        var gate = new object();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (gate) log.WriteLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (gate) log.WriteLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        process.EnableRaisingEvents = true;
        process.Exited += (_, _) => { lock (gate) log.Dispose(); };
        return new ManagedProcess(name, process, logPath, () => Start(name, fileName, args, environment, logDirectory));
    }

    /// <summary>The same command again (after a crash), logging on into the same file.</summary>
    public ManagedProcess StartAgain() => _startAgain();

    /// <summary>SIGKILL of this process alone, as a crash.</summary>
    public async Task KillAsync()
    {
        if (_process.HasExited) return;
        _process.Kill(entireProcessTree: false);
        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}
