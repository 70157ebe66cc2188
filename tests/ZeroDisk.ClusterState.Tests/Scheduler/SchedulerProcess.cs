namespace ZeroDisk.ClusterState.Tests.Scheduler;

/// <summary>
/// The built repairscheduler.dll as a real process on a deployment's vhost and etcd, with short timings; it can be
/// SIGKILLed and started again (the same endpoint prefix, so the same queues and the same recorded work).
/// </summary>
public sealed class SchedulerProcess : IAsyncDisposable
{
    private readonly IReadOnlyList<string> _arguments;
    private readonly Dictionary<string, string> _environment;
    private readonly string _logFile;
    private BackgroundProcess? _process;

    private SchedulerProcess(IReadOnlyList<string> arguments, Dictionary<string, string> environment, string logFile)
    {
        _arguments = arguments;
        _environment = environment;
        _logFile = logFile;
    }

    public string Prefix { get; private init; } = "";
    public int Starts { get; private set; }
    public BackgroundProcess Current => _process ?? throw new InvalidOperationException("not running");

    /// <param name="settings">Scheduler options (section "Scheduler"), e.g. Deadline.</param>
    public static async Task<SchedulerProcess> StartAsync(Fixtures.ClusterStateDeployment deployment, Dictionary<string, string>? settings = null,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var configuration = AppContext.BaseDirectory.Contains("/bin/Debug/", StringComparison.Ordinal) ? "Debug" : "Release";
        var dll = Path.Combine(RepoPaths.Root, "services", "RepairScheduler", "bin", configuration, "net10.0", "repairscheduler.dll");
        if (!File.Exists(dll)) throw new FileNotFoundException("build services/RepairScheduler first", dll);
        var prefix = deployment.Scope + "-rs";
        var timings = new Dictionary<string, string>
        {
            ["GracePeriod"] = "00:00:02", ["ProbeInterval"] = "00:00:00.3", ["MaxProbeInterval"] = "00:00:01", ["Deadline"] = "00:05:00",
            ["RepairScanInterval"] = "00:00:00.5", ["DispatchTimeout"] = "00:01:00",
        };
        foreach (var (key, value) in settings ?? []) timings[key] = value;
        var env = new Dictionary<string, string>(environment ?? new Dictionary<string, string>())
        {
            ["RABBITMQ_URI"] = deployment.VirtualHost.Uri.ToString(),
            ["ETCD_ENDPOINTS"] = deployment.Endpoints.EtcdEndpoints,
            ["Scheduler__EndpointPrefix"] = prefix,
            ["Logging__LogLevel__Default"] = "Information",
            ["Logging__LogLevel__MassTransit"] = "Warning",
        };
        foreach (var (key, value) in timings) env[$"Scheduler__{key}"] = value;
        var scheduler = new SchedulerProcess([dll], env, Path.Combine(Path.GetTempPath(), $"{prefix}.log")) { Prefix = prefix };
        await scheduler.RestartAsync();
        return scheduler;
    }

    /// <summary>Starts the process (again) and waits until its bus is up.</summary>
    public async Task RestartAsync()
    {
        if (_process is { Process.HasExited: false }) throw new InvalidOperationException("still running");
        _process = BackgroundProcess.Start("dotnet", _arguments, _environment);
        Starts++;
        await _process.WaitForStdOutAsync(l => l.Contains("Bus started", StringComparison.Ordinal) || l.Contains("Application started", StringComparison.Ordinal),
            "the scheduler is up", TimeSpan.FromSeconds(90));
    }

    /// <summary>SIGKILL: no shutdown, no acknowledgement, no flush.</summary>
    public async Task KillAsync()
    {
        var process = Current.Process;
        if (process.HasExited) return;
        SaveLog();
        process.Kill();
        await process.WaitForExitAsync();
    }

    /// <summary>SIGTERM and wait: the host stops and the OTLP exporter flushes what it holds.</summary>
    public async Task StopGracefullyAsync()
    {
        var process = Current.Process;
        if (process.HasExited) return;
        SaveLog();
        _ = ExternalProcess.RunAsync("kill", ["-TERM", process.Id.ToString()]);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
    }

    public IReadOnlyList<string> Lines => Current.StdOutLines;

    private void SaveLog()
    {
        if (_process is null) return;
        File.AppendAllLines(_logFile, [$"--- run {Starts} ---", .. _process.StdOutLines, .. _process.StdErrLines]);
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is null) return;
        SaveLog();
        await _process.DisposeAsync();
    }
}
