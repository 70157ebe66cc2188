using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Logging;
using ZeroDisk.Contracts;
using ZeroDisk.ServiceDefaults.Operations;

namespace ZeroDisk.NodeAgent;

/// <summary>How a supervised child ended: 128+N when killed by signal N, -1 when its status could not be learnt.</summary>
public sealed record ChildExit(ProcessRole Role, string Id, int ExitCode, bool Requested);

/// <summary>
/// Starts the node's NBD and tlog servers, watches them with a pidfd and, when one exits without being asked to,
/// appends <c>{"type": "process-exited", …}</c> to its log file (the LogCollector relays it). Children run in their
/// own session with their log file as stderr (<see cref="ChildWrapper"/>), so they outlive the agent; a restarted
/// agent adopts them from the state directory (<see cref="AdoptAll"/>) and still notices their exit.
/// </summary>
public sealed class ChildSupervisor(string logDirectory, string stateDirectory, ILogger logger) : IDisposable
{
    private const int SigTerm = 15;
    private const int SigKill = 9;
    private static readonly TimeSpan StatusWait = TimeSpan.FromMilliseconds(500);
    private readonly ConcurrentDictionary<string, RunningChild> _running = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();

    public string LogDirectory => logDirectory;

    /// <summary>Raised once per exit, after the process-exited line is written.</summary>
    public event Action<ChildExit>? Exited;

    public IReadOnlyList<ChildRecord> Running => _running.Values.Select(c => c.Record).ToList();

    public bool IsRunning(ProcessRole role, string id) => _running.ContainsKey(ChildSpec.NameOf(role, id));

    /// <summary>True while the process of that start runs (not a later start of the same child).</summary>
    public bool IsRunning(ChildRecord start) =>
        _running.TryGetValue(ChildSpec.NameOf(start.Role, start.Id), out var child) && child.Record.Pid == start.Pid;

    public ChildPaths PathsOf(ProcessRole role, string id) => ChildPaths.For(logDirectory, stateDirectory, ChildSpec.NameOf(role, id));

    /// <summary>The exit of a running child (completed at once with null when it does not run).</summary>
    public Task<ChildExit?> ExitOf(ProcessRole role, string id) =>
        _running.TryGetValue(ChildSpec.NameOf(role, id), out var child) ? child.Exit.Task : Task.FromResult<ChildExit?>(null);

    /// <summary>Starts the child, stopping a running instance of it first (a restart).</summary>
    public async Task<ChildRecord> StartAsync(ChildSpec spec, CancellationToken ct)
    {
        await StopAsync(spec.Role, spec.Id, TimeSpan.FromSeconds(10));
        Directory.CreateDirectory(logDirectory);
        Directory.CreateDirectory(stateDirectory);
        var paths = ChildPaths.For(logDirectory, stateDirectory, spec.Name);
        File.Delete(paths.PidFile);
        File.Delete(paths.StatusFile);
        // The record is written before the launch (pid unknown yet), so an agent that dies right after the launch
        // leaves enough for its successor to adopt the child from the wrapper's pid file.
        await WriteRecordAsync(paths.RecordFile, new ChildRecord(spec.Role, spec.Id, 0, 0, spec.Arguments, spec.ReportsExit));
        var psi = new ProcessStartInfo("setsid") { UseShellExecute = false };
        // The agent's own probe address is not its children's: each would fail to listen on it.
        foreach (var name in psi.Environment.Keys.Where(OperationsExtensions.IsUrlVariable).ToList()) psi.Environment.Remove(name);
        foreach (var argument in ChildWrapper.Arguments(paths, spec.Arguments)) psi.ArgumentList.Add(argument);
        // The wrapper is our child only until the agent dies. The Process object stays referenced until the
        // wrapper exits, so .NET keeps tracking it and reaps it (no zombie per restarted child).
        var wrapper = Process.Start(psi) ?? throw new InvalidOperationException("could not start setsid");
        _ = wrapper.WaitForExitAsync().ContinueWith(_ => wrapper.Dispose(), TaskScheduler.Default);
        var pid = await ReadPidAsync(paths.PidFile, wrapper, ct);
        var record = new ChildRecord(spec.Role, spec.Id, pid, ProcessStartTime(pid) ?? 0, spec.Arguments, spec.ReportsExit);
        await WriteRecordAsync(paths.RecordFile, record);
        Watch(record, paths, PidFd.Open(pid));
        logger.LogInformation("started {Child} as pid {Pid}: {Command}", spec.Name, pid, string.Join(' ', spec.Arguments));
        return record;
    }

    /// <summary>Stops a child on purpose (SIGTERM, SIGKILL after the grace time); no process-exited event for it.</summary>
    public async Task StopAsync(ProcessRole role, string id, TimeSpan grace)
    {
        if (!_running.TryGetValue(ChildSpec.NameOf(role, id), out var child)) return;
        child.StopRequested = true;
        child.Handle?.Signal(SigTerm);
        try
        {
            await child.Exit.Task.WaitAsync(grace);
        }
        catch (TimeoutException)
        {
            logger.LogWarning("{Role} {Id} ignored SIGTERM for {Grace}; SIGKILL", role.ToWire(), id, grace);
            child.Handle?.Signal(SigKill);
            await child.Exit.Task;
        }
    }

    /// <summary>
    /// Takes over the children a previous agent started: those still running are watched again; those that exited
    /// while no agent ran get their process-exited line now.
    /// </summary>
    public void AdoptAll()
    {
        if (!Directory.Exists(stateDirectory)) return;
        foreach (var file in Directory.EnumerateFiles(stateDirectory, "*.json"))
        {
            ChildRecord record;
            try
            {
                record = ZeroDiskJson.Deserialize<ChildRecord>(File.ReadAllText(file));
            }
            catch (Exception ex) when (ex is IOException or System.Text.Json.JsonException)
            {
                logger.LogWarning("unreadable child record {File}: {Reason}", file, ex.Message);
                continue;
            }
            var paths = PathsOf(record.Role, record.Id);
            if (record.Pid == 0) record = CompleteInterruptedStart(record, paths);
            var alive = ProcessStartTime(record.Pid) == record.StartTime ? PidFd.Open(record.Pid) : null;
            if (alive is not null) logger.LogInformation("adopted {Role} {Id} (pid {Pid})", record.Role.ToWire(), record.Id, record.Pid);
            else logger.LogInformation("{Role} {Id} (pid {Pid}) exited while no agent ran", record.Role.ToWire(), record.Id, record.Pid);
            Watch(record, paths, alive);
        }
    }

    /// <summary>The previous agent died between launching a child and recording its pid: take the pid from the wrapper.</summary>
    private static ChildRecord CompleteInterruptedStart(ChildRecord record, ChildPaths paths)
    {
        var pid = File.Exists(paths.PidFile) && int.TryParse(File.ReadAllText(paths.PidFile).Trim(), out var p) ? p : 0;
        // No pid: the child never started (reported as exited, status unknown, so it gets restarted).
        return pid == 0 ? record : record with { Pid = pid, StartTime = ProcessStartTime(pid) ?? -1 };
    }

    private void Watch(ChildRecord record, ChildPaths paths, PidFd? handle)
    {
        var child = new RunningChild(record, paths, handle);
        _running[ChildSpec.NameOf(record.Role, record.Id)] = child;
        if (handle is null)
        {
            _ = OnExitedAsync(child, Stopwatch.StartNew());
            return;
        }
        // A dedicated thread per child blocks in poll(2) on its pidfd: the exit wakes it at once.
        new Thread(() =>
        {
            if (handle.WaitForExit(_stopping.Token)) _ = OnExitedAsync(child, Stopwatch.StartNew());
        })
        { IsBackground = true, Name = $"watch {record.Role.ToWire()}-{record.Id}" }.Start();
    }

    private async Task OnExitedAsync(RunningChild child, Stopwatch sinceExit)
    {
        var (role, id) = (child.Record.Role, child.Record.Id);
        var code = await ReadStatusAsync(child.Paths.StatusFile);
        var line = child.StopRequested ? $"zerodisk-agent: {role.ToWire()} {id} stopped by the agent (exit status {code})"
            : !child.Record.ReportsExit ? $"zerodisk-agent: {role.ToWire()} {id} ended (exit status {code})"
            : StderrEventWriter.Format(ExitLine(child.Record, code));
        await AppendLineAsync(child.Paths.LogFile, line);
        logger.LogInformation("{Role} {Id} (pid {Pid}) exited with {Code}; reported {Latency:0.0} ms after the exit was seen",
            role.ToWire(), id, child.Record.Pid, code, sinceExit.Elapsed.TotalMilliseconds);
        File.Delete(child.Paths.RecordFile);
        _running.TryRemove(new KeyValuePair<string, RunningChild>(ChildSpec.NameOf(role, id), child));
        child.Handle?.Dispose();
        var exit = new ChildExit(role, id, code, child.StopRequested);
        child.Exit.TrySetResult(exit);
        Exited?.Invoke(exit);
    }

    /// <summary>
    /// The process-exited line, with the pid and kernel start time that name this one exit (a second report of it,
    /// e.g. by an agent restarted before it removed the record, is recognised downstream) and when it was seen.
    /// A child that never started (pid 0) has no identity: each such report is a new exit.
    /// </summary>
    private static ProcessExitedLine ExitLine(ChildRecord record, int code) =>
        new(record.Role, record.Id, code, record.Pid > 0 ? record.Pid : null, record.Pid > 0 ? record.StartTime : null) { Time = DateTimeOffset.UtcNow };

    /// <summary>The wrapper writes the status right after it reaps the child (a millisecond after the pidfd fires).</summary>
    private static async Task<int> ReadStatusAsync(string statusFile)
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            if (File.Exists(statusFile) && int.TryParse((await File.ReadAllTextAsync(statusFile)).Trim(), out var code)) return code;
            if (waited.Elapsed > StatusWait) return -1; // the wrapper died too: status unknown
            await Task.Delay(1);
        }
    }

    /// <summary>
    /// Appends one whole line, starting a new line first if the child died mid-line. The log directory may not exist
    /// yet: a start refused for a repair is logged before this agent has started any child.
    /// </summary>
    public static async Task AppendLineAsync(string logFile, string line)
    {
        if (Path.GetDirectoryName(logFile) is { Length: > 0 } directory) Directory.CreateDirectory(directory);
        await using var file = new FileStream(logFile, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite);
        var needsNewline = false;
        if (file.Length > 0)
        {
            var last = new byte[1];
            await RandomAccess.ReadAsync(file.SafeFileHandle, last, file.Length - 1);
            needsNewline = last[0] != (byte)'\n';
        }
        file.Seek(0, SeekOrigin.End);
        await file.WriteAsync(Encoding.UTF8.GetBytes((needsNewline ? "\n" : "") + line + "\n"));
    }

    private static async Task<int> ReadPidAsync(string pidFile, Process wrapper, CancellationToken ct)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            if (File.Exists(pidFile) && int.TryParse((await File.ReadAllTextAsync(pidFile, ct)).Trim(), out var pid)) return pid;
            if (wrapper.HasExited && !File.Exists(pidFile))
                throw new InvalidOperationException($"the child wrapper exited with {wrapper.ExitCode} before starting the child");
            await Task.Delay(2, ct);
        }
        throw new TimeoutException($"no pid in {pidFile} after 10 s");
    }

    private static async Task WriteRecordAsync(string recordFile, ChildRecord record)
    {
        await File.WriteAllTextAsync(recordFile + ".tmp", ZeroDiskJson.Serialize(record));
        File.Move(recordFile + ".tmp", recordFile, overwrite: true);
    }

    /// <summary>Field 22 of /proc/&lt;pid&gt;/stat (start time in clock ticks since boot), or null when the process is gone.</summary>
    internal static long? ProcessStartTime(int pid)
    {
        if (pid <= 0) return null;
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return long.Parse(fields[19]); // fields after "(comm)" start at field 3
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    public void Dispose()
    {
        // Children keep running: only our watchers stop.
        _stopping.Cancel();
        _stopping.Dispose();
    }

    private sealed class RunningChild(ChildRecord record, ChildPaths paths, PidFd? handle)
    {
        public ChildRecord Record { get; } = record;
        public ChildPaths Paths { get; } = paths;
        public PidFd? Handle { get; } = handle;
        public volatile bool StopRequested;
        public TaskCompletionSource<ChildExit?> Exit { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
