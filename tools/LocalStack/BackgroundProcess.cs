using System.Diagnostics;

namespace ZeroDisk.LocalStack;

/// <summary>
/// A command line tool running beside the test (a `zdctl follow`, or any tool <see cref="ExternalProcess"/> runs to
/// completion): its output is collected line by line as it comes, and it is killed on dispose if still running.
/// </summary>
public sealed class BackgroundProcess : IAsyncDisposable
{
    private readonly List<string> _stdout = [];
    private readonly List<string> _stderr = [];

    private BackgroundProcess(Process process) => Process = process;

    public Process Process { get; }
    public IReadOnlyList<string> StdOutLines { get { lock (_stdout) return [.. _stdout]; } }
    public IReadOnlyList<string> StdErrLines { get { lock (_stderr) return [.. _stderr]; } }
    public string StdOut => string.Concat(StdOutLines.Select(l => l + Environment.NewLine));
    public string StdErr => string.Concat(StdErrLines.Select(l => l + Environment.NewLine));

    public static BackgroundProcess Start(string fileName, IEnumerable<string> args, IDictionary<string, string>? environment = null, bool redirectStdin = false)
    {
        var psi = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = redirectStdin,
            UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (environment is not null)
            foreach (var (k, v) in environment) psi.Environment[k] = v;
        var started = new BackgroundProcess(Process.Start(psi) ?? throw new InvalidOperationException($"could not start {fileName}"));
        started.Process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (started._stdout) started._stdout.Add(e.Data); };
        started.Process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (started._stderr) started._stderr.Add(e.Data); };
        started.Process.BeginOutputReadLine();
        started.Process.BeginErrorReadLine();
        return started;
    }

    /// <summary>Waits until a line of stdout matches; fails early if the process exits first.</summary>
    public Task<string> WaitForStdOutAsync(Func<string, bool> match, string what, TimeSpan? timeout = null) => WaitForLineAsync(() => StdOutLines, match, what, timeout);

    public Task<string> WaitForStdErrAsync(Func<string, bool> match, string what, TimeSpan? timeout = null) => WaitForLineAsync(() => StdErrLines, match, what, timeout);

    private async Task<string> WaitForLineAsync(Func<IReadOnlyList<string>> lines, Func<string, bool> match, string what, TimeSpan? timeout)
    {
        string? found = null;
        await Eventually.UntilAsync(() =>
        {
            found = lines().FirstOrDefault(match);
            if (found is null && Process.HasExited)
                throw new InvalidOperationException($"{Process.StartInfo.FileName} exited {Process.ExitCode} before {what}\nstdout: {StdOut}\nstderr: {StdErr}");
            return Task.FromResult(found is not null);
        }, $"{what}\nstdout so far: {StdOut}\nstderr so far: {StdErr}", timeout);
        return found!;
    }

    public async ValueTask DisposeAsync()
    {
        if (!Process.HasExited)
        {
            Process.Kill(entireProcessTree: true);
            await Process.WaitForExitAsync();
        }
        Process.Dispose();
    }
}
