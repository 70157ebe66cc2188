using System.Diagnostics;

namespace ZeroDisk.NbdHost.Tests.Harness;

/// <summary>
/// <c>nbdhost serve</c> as a real process (the built nbdhost.dll next to the tests), on a free loopback port, with its
/// stdout and stderr lines kept. Ready once it prints where it listens. SIGKILL it to simulate a crash.
/// </summary>
public sealed class ServeProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _stdout = [];
    private readonly List<string> _stderr = [];
    private readonly TaskCompletionSource _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ServeProcess(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }
    /// <summary>The server's stderr; event lines without the writer's "time" field, so tests compare them with the seed form.</summary>
    public IReadOnlyList<string> StderrLines { get { lock (_stderr) return _stderr.ToList(); } }
    public IReadOnlyList<string> StdoutLines { get { lock (_stdout) return _stdout.ToList(); } }
    public string Uri(string export) => $"nbd://127.0.0.1:{Port}/{export}";

    public static async Task<ServeProcess> StartAsync(string serverId, string etcdEndpoints, int? port = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        var listenPort = port ?? FreePort.Next();
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { Path.Combine(AppContext.BaseDirectory, "nbdhost.dll"), "serve", "--id", serverId, "--listen", $"127.0.0.1:{listenPort}", "--etcd", etcdEndpoints })
            psi.ArgumentList.Add(arg);
        psi.Environment["DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS"] = "1";
        psi.Environment["Storage__CommandTimeout"] = StorageHarness.TestStorageOptions.CommandTimeout.ToString();
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) psi.Environment[name] = value;
        var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start nbdhost serve");
        var serve = new ServeProcess(process, listenPort);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (serve._stdout) serve._stdout.Add(e.Data);
            if (e.Data.StartsWith("listening nbd://", StringComparison.Ordinal)) serve._listening.TrySetResult();
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null) lock (serve._stderr) serve._stderr.Add(global::ZeroDisk.NbdHost.Tests.Harness.StderrLines.WithoutTime(e.Data));
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var started = await Task.WhenAny(serve._listening.Task, process.WaitForExitAsync(), Task.Delay(TimeSpan.FromSeconds(30)));
        if (started != serve._listening.Task)
        {
            var why = process.HasExited ? $"exited with {process.ExitCode}" : "did not listen within 30 s";
            await serve.DisposeAsync();
            throw new InvalidOperationException($"nbdhost serve {why}\nstdout: {string.Join('\n', serve.StdoutLines)}\nstderr: {string.Join('\n', serve.StderrLines)}");
        }
        return serve;
    }

    public Task WaitForStderrAsync(string line, TimeSpan timeout) =>
        Eventually.TrueAsync(() => StderrLines.Contains(line), timeout, $"stderr line {line}",
            () => $"stderr:\n{string.Join('\n', StderrLines)}\nstdout tail:\n{string.Join('\n', StdoutLines.TakeLast(30))}");

    /// <summary>
    /// Waits until the server lists <paramref name="vdiskId"/>: a restarted server listens at once but exports a vdisk
    /// only once it owns it, and its stderr report of a stale engine can come before the export is in place.
    /// </summary>
    public Task WaitForExportAsync(string vdiskId, TimeSpan timeout) =>
        Eventually.UntilAsync(async () => (await NbdClients.ListExportsAsync($"nbd://127.0.0.1:{Port}")).Contains(vdiskId),
            $"vdisk {vdiskId} exported on port {Port}", timeout);

    public int Pid => _process.Id;

    /// <summary>All it logged so far, stdout and stderr together.</summary>
    public string Output => string.Join('\n', StdoutLines.Concat(StderrLines));

    /// <summary>SIGSTOP: the process freezes (its etcd lease keep-alive too) until <see cref="ContinueAsync"/>.</summary>
    public Task PauseAsync() => SignalAsync("STOP");

    public Task ContinueAsync() => SignalAsync("CONT");

    private async Task SignalAsync(string signal) =>
        (await ExternalProcess.RunAsync("kill", [$"-{signal}", Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)])).EnsureSuccess($"kill -{signal}");

    /// <summary>SIGKILL, as a crash.</summary>
    public async Task KillAsync()
    {
        if (_process.HasExited) return;
        _process.Kill();
        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
    }
}
