using System.Diagnostics;

namespace ZeroDisk.LocalStack.Collector;

/// <summary>
/// The built collector (<c>logcollector.dll</c>) run as its own process through <c>dotnet</c>, so a SIGKILL is a real
/// one. Its console output goes to a file for the post-mortem.
/// </summary>
public sealed class CollectorProcess : IAsyncDisposable
{
    private readonly Dictionary<string, string> _environment;
    private readonly string _outputPath;
    private readonly bool _standardInput;
    private readonly object _outputLock = new();
    private Process? _process;
    private StreamWriter? _output;

    public CollectorProcess(IReadOnlyDictionary<string, string> environment, string outputPath, bool standardInput = false)
    {
        _environment = new Dictionary<string, string>(environment);
        _outputPath = outputPath;
        _standardInput = standardInput;
    }

    /// <summary>The built collector, or the one <c>ZD_COLLECTOR_DLL</c> names (a bench comparing two builds).</summary>
    public static string DllPath
    {
        get
        {
            if (Environment.GetEnvironmentVariable("ZD_COLLECTOR_DLL") is { Length: > 0 } given)
                return File.Exists(given) ? Path.GetFullPath(given) : throw new FileNotFoundException("ZD_COLLECTOR_DLL names no file", given);
            // Same configuration as the test binaries (bin/<Configuration>/net10.0).
            var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/')).Parent!.Name;
            var path = Path.Combine(RepoPaths.Root, "services", "LogCollector", "bin", configuration, "net10.0", "logcollector.dll");
            return File.Exists(path) ? path : throw new FileNotFoundException("build services/LogCollector first", path);
        }
    }

    public int Pid => _process?.Id ?? throw new InvalidOperationException("not started");
    public bool IsRunning => _process is { HasExited: false };
    public StreamWriter StandardInput => _process?.StandardInput ?? throw new InvalidOperationException("not started with standard input");

    public void Start()
    {
        if (IsRunning) throw new InvalidOperationException("already running");
        _process?.Dispose();
        var psi = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = _standardInput,
        };
        psi.ArgumentList.Add(DllPath);
        foreach (var (key, value) in _environment) psi.Environment[key] = value;
        _output ??= new StreamWriter(_outputPath, append: true) { AutoFlush = true };
        Append($"=== start {DateTime.UtcNow:O}");
        _process = Process.Start(psi) ?? throw new InvalidOperationException("could not start dotnet");
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) Append(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) Append(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>SIGKILL: no shutdown hook, no flush, exactly like a crash.</summary>
    public async Task KillAsync()
    {
        if (_process is null || _process.HasExited) return;
        _process.Kill(); // SIGKILL on Unix
        await _process.WaitForExitAsync();
        Append($"=== SIGKILL {DateTime.UtcNow:O}");
    }

    /// <summary>Peak resident set size (VmHWM) of the running collector, in KiB.</summary>
    public long PeakRssKiB() => ProcStatus("VmHWM:");

    public long RssKiB() => ProcStatus("VmRSS:");

    private long ProcStatus(string field)
    {
        foreach (var line in File.ReadLines($"/proc/{Pid}/status"))
            if (line.StartsWith(field, StringComparison.Ordinal))
                return long.Parse(line[field.Length..].Trim().Split(' ')[0]);
        throw new InvalidOperationException($"{field} not in /proc/{Pid}/status");
    }

    public string Output()
    {
        lock (_outputLock) return File.Exists(_outputPath) ? File.ReadAllText(_outputPath) : "";
    }

    private void Append(string line)
    {
        lock (_outputLock) _output?.WriteLine(line);
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process?.Dispose();
        lock (_outputLock)
        {
            _output?.Dispose();
            _output = null;
        }
    }
}
