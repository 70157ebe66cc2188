using System.Diagnostics;

namespace ZeroDisk.NbdHost.Agent.Tests;

/// <summary>A real <c>nbdhost</c> process (tlog server, agent) with its stderr in a file; SIGKILL it like a crash.</summary>
public sealed class NbdHostProcess : IAsyncDisposable
{
    private readonly Process _process;

    private NbdHostProcess(Process process, string stderrFile)
    {
        _process = process;
        StderrFile = stderrFile;
    }

    public string StderrFile { get; }
    public int Pid => _process.Id;
    public bool HasExited => _process.HasExited;

    /// <summary>The nbdhost beside the test binaries (the referenced project's apphost), else <c>dotnet nbdhost.dll</c>.</summary>
    public static (string FileName, string[] Prefix) Executable()
    {
        var appHost = Path.Combine(AppContext.BaseDirectory, "nbdhost");
        return File.Exists(appHost) ? (appHost, []) : ("dotnet", [Path.Combine(AppContext.BaseDirectory, "nbdhost.dll")]);
    }

    public static NbdHostProcess Start(IEnumerable<string> arguments, string stderrFile, IReadOnlyDictionary<string, string>? environment = null)
    {
        var (fileName, prefix) = Executable();
        // Through sh so stderr goes straight to a file: no pipe that a test would have to drain.
        var psi = new ProcessStartInfo("/bin/sh") { UseShellExecute = false, RedirectStandardInput = true };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("exec \"$0\" \"$@\" >>\"$ZD_STDERR\" 2>&1");
        psi.ArgumentList.Add(fileName);
        foreach (var a in prefix.Concat(arguments)) psi.ArgumentList.Add(a);
        psi.Environment["ZD_STDERR"] = stderrFile;
        if (environment is not null)
            foreach (var (k, v) in environment) psi.Environment[k] = v;
        var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start nbdhost");
        return new NbdHostProcess(process, stderrFile);
    }

    public async Task KillAsync()
    {
        if (_process.HasExited) return;
        _process.Kill();
        await _process.WaitForExitAsync();
    }

    public string Stderr() => File.Exists(StderrFile) ? File.ReadAllText(StderrFile) : "";

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
    }
}
