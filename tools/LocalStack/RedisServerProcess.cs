using System.Diagnostics;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using ZeroDisk.ServiceDefaults.Engines;
using ZeroDisk.ServiceDefaults.Security;

namespace ZeroDisk.LocalStack;

/// <summary>
/// One private redis-server on a loopback port, with the durability settings the engines run with
/// (<see cref="ZeroDisk.Contracts.EngineDurability"/>). SIGKILL and restart it to simulate an SSD failure or a node reboot; its AOF survives a restart.
/// </summary>
public sealed class RedisServerProcess : IAsyncDisposable
{
    private Process? _process;

    /// <summary>
    /// One kill or restart at a time: two overlapping faults on one engine (the fault checker's seed 7008: two restarts
    /// from older files 1.2 s apart) interleaved as kill, delete the directory, kill, start, start: the second start
    /// lost the port and replaced the process handle, and the first process ran on untracked, on a deleted directory,
    /// past the end of the run.
    /// </summary>
    private readonly SemaphoreSlim _lifecycle = new(1, 1);

    private readonly EngineCredentials _credentials;
    private readonly ServerTls? _tls;

    private RedisServerProcess(int port, string directory, EngineCredentials credentials, ServerTls? tls)
    {
        Port = port;
        Directory = directory;
        _credentials = credentials;
        _tls = tls;
    }

    public int Port { get; }
    public string Directory { get; }
    public string Address => $"127.0.0.1:{Port}";
    public bool IsRunning => _process is { HasExited: false };
    public int? Pid => IsRunning ? _process!.Id : null;

    /// <param name="credentials">What the engine asks clients for; default this process's (<see cref="ProcessCredentials.Engines"/>).</param>
    /// <param name="tls">
    /// The engine's TLS when the credentials use TLS; default <see cref="ServerTls.FromEnvironment"/> (the
    /// server certificate of <c>scripts/infra.sh --tls</c>), so that a suite run with a TLS run/infra.env gets TLS engines.
    /// </param>
    public static async Task<RedisServerProcess> StartAsync(string? directory = null, EngineCredentials? credentials = null, ServerTls? tls = null)
    {
        var dir = directory ?? Path.Combine(Path.GetTempPath(), "zd-redis-" + Guid.NewGuid().ToString("N")[..8]);
        System.IO.Directory.CreateDirectory(dir);
        credentials ??= ProcessCredentials.Engines;
        if (credentials.UseTls) tls ??= ServerTls.FromEnvironment(credentials);
        for (var attempt = 1; ; attempt++)
        {
            var server = new RedisServerProcess(FreePort.Next(), dir, credentials, tls);
            try
            {
                await server.StartProcessAsync();
                return server;
            }
            // A port free when it was picked can be taken before the engine binds it (another process's outgoing
            // connection gets it as its local port): a new engine, known to nobody yet, simply takes another.
            catch (InvalidOperationException) when (attempt < 5 && server.LostItsPort())
            {
                File.Delete(server.LogFile);
            }
        }
    }

    private string LogFile => Path.Combine(Directory, "redis.log");

    private bool LostItsPort() => File.Exists(LogFile) && File.ReadAllText(LogFile).Contains("Address already in use", StringComparison.Ordinal);

    /// <summary>SIGKILL: no shutdown, no final fsync, exactly like a crash.</summary>
    public Task KillAsync() => SerializedAsync(KillCoreAsync);

    private async Task KillCoreAsync()
    {
        if (_process is null || _process.HasExited) return;
        _process.Kill();
        await _process.WaitForExitAsync();
    }

    /// <summary>SIGSTOP: a stall. Connections stay open and nothing answers until <see cref="ContinueAsync"/>.</summary>
    public Task FreezeAsync() => SignalAsync("STOP");

    /// <summary>SIGCONT after <see cref="FreezeAsync"/>: the same process answers again (same data, same run_id).</summary>
    public Task ContinueAsync() => SignalAsync("CONT");

    private async Task SignalAsync(string signal) =>
        (await ExternalProcess.RunAsync("kill", [$"-{signal}", (Pid ?? throw new InvalidOperationException($"engine {Address} is not running")).ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        .EnsureSuccess($"kill -{signal}");

    /// <summary>Start again on the same port and data directory (old data intact, new run_id).</summary>
    public Task RestartAsync() => SerializedAsync(() => IsRunning ? Task.CompletedTask : StartProcessAsync());

    /// <summary>
    /// Like <see cref="RestartAsync"/>, but loading its files takes <paramref name="perKey"/> per key of its last AOF
    /// rewrite (redis's <c>key-load-delay</c>, this start only): meanwhile it answers -LOADING, as a real engine with a
    /// large dataset does for seconds after a restart. Returns once it answers, loading or not.
    /// </summary>
    public Task RestartLoadingSlowlyAsync(TimeSpan perKey) => SerializedAsync(() =>
    {
        if (IsRunning) return Task.CompletedTask;
        _keyLoadDelayMicroseconds = (int)(perKey.Ticks / 10);
        return StartProcessAsync(untilServing: false);
    });

    private int _keyLoadDelayMicroseconds;

    /// <summary>Wipe the data directory too, as a replaced disk would come back.</summary>
    public Task RestartEmptyAsync() => SerializedAsync(async () =>
    {
        await KillCoreAsync();
        System.IO.Directory.Delete(Directory, recursive: true);
        System.IO.Directory.CreateDirectory(Directory);
        await StartProcessAsync();
    });

    /// <summary>
    /// Copies the data directory as it is now (AOF included) to a new temp directory, for
    /// <see cref="RestartFromSnapshotAsync"/>: what the engine will come back with after a crash that lost everything
    /// written since (a crash that loses acknowledged writes: a lost disk cache, or an engine misconfigured with appendfsync everysec).
    /// </summary>
    public string SnapshotDirectory()
    {
        var snapshot = Directory + "-snap-" + Guid.NewGuid().ToString("N")[..8];
        CopyDirectory(Directory, snapshot);
        return snapshot;
    }

    /// <summary>SIGKILL, then start again (same port, new run_id) with the data of <paramref name="snapshot"/>, which is consumed.</summary>
    public Task RestartFromSnapshotAsync(string snapshot) => SerializedAsync(async () =>
    {
        await KillCoreAsync();
        System.IO.Directory.Delete(Directory, recursive: true);
        CopyDirectory(snapshot, Directory);
        System.IO.Directory.Delete(snapshot, recursive: true);
        await StartProcessAsync();
    });

    private static void CopyDirectory(string from, string to)
    {
        System.IO.Directory.CreateDirectory(to);
        foreach (var file in System.IO.Directory.EnumerateFiles(from))
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        foreach (var dir in System.IO.Directory.EnumerateDirectories(from))
            CopyDirectory(dir, Path.Combine(to, Path.GetFileName(dir)));
    }

    private async Task StartProcessAsync(bool untilServing = true)
    {
        var psi = new ProcessStartInfo("redis-server")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        // With engine credentials in this process (Engines:*, e.g. from an auth-on run/infra.env) the engine asks for
        // them, as the shared ones do: its password in a config file of its own (chmod 600), never on its command line.
        if (AuthConfigFile() is { } authConfig) psi.ArgumentList.Add(authConfig);
        // With TLS the engine has no plaintext port: its one port is the TLS port, as the shared ones under --tls.
        foreach (var arg in _tls is { } tls ? tls.RedisArguments(Port) : ["--port", Port.ToString()])
            psi.ArgumentList.Add(arg);
        foreach (var arg in new[]
                 {
                     "--bind", "127.0.0.1", "--dir", Directory, "--daemonize", "no",
                     "--appendonly", "yes", "--appendfsync", "always", "--maxmemory-policy", "noeviction",
                     "--save", "", "--protected-mode", "no", "--enable-debug-command", "local", "--logfile", LogFile,
                     "--pidfile", PidFile,
                 })
            psi.ArgumentList.Add(arg);
        if (Interlocked.Exchange(ref _keyLoadDelayMicroseconds, 0) is var delay and > 0)
        {
            psi.ArgumentList.Add("--key-load-delay");
            psi.ArgumentList.Add(delay.ToString());
            // Answer (-LOADING) while loading, as a large dataset's engine does between its chunks; by default a few
            // thousand small keys are one chunk, and it would answer nothing until loaded.
            psi.ArgumentList.Add("--loading-process-events-interval-bytes");
            psi.ArgumentList.Add("1024");
        }
        File.Delete(PidFile); // a killed engine leaves its own behind
        _process = Process.Start(psi) ?? throw new InvalidOperationException("could not start redis-server (is it installed? scripts/infra.sh install)");
        _process.StandardOutput.BaseStream.CopyToAsync(Stream.Null).ContinueWith(_ => { }, TaskScheduler.Default).Forget();
        _process.StandardError.BaseStream.CopyToAsync(Stream.Null).ContinueWith(_ => { }, TaskScheduler.Default).Forget();
        var process = _process;
        await Eventually.UntilAsync(async () => process.HasExited
                ? throw new InvalidOperationException($"redis-server on port {Port} exited with {process.ExitCode}; see {Directory}/redis.log")
                : await PingAsync(untilServing) && IsListening(process),
            $"redis-server on port {Port} answers PING", TimeSpan.FromSeconds(15), TimeSpan.FromMilliseconds(20));
    }

    private string? AuthConfigFile()
    {
        var credentials = _credentials;
        if (credentials.ResolvedPassword() is not { } password) return null;
        var file = Path.Combine(Directory, "auth.conf");
        var lines = new List<string> { $"requirepass \"{password}\"" };
        if (credentials.User is { Length: > 0 } user) lines.Add($"user {user} on >{password} ~* &* +@all");
        File.WriteAllLines(file, lines);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return file;
    }

    private string PidFile => Path.Combine(Directory, "redis.pid");

    /// <summary>
    /// The engine answering on the port is this process: redis writes its pid file only once it holds its port. Another
    /// engine started at the same moment can be handed the same free port; this one then fails to bind and exits, but
    /// until it has, the other one answers PING on the port, and two engines of one test would be one.
    /// </summary>
    private bool IsListening(Process process) =>
        File.Exists(PidFile) && File.ReadAllText(PidFile).Trim() == process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <param name="serving">True: only +PONG counts; false: -LOADING (still reading its files) counts too.</param>
    private async Task<bool> PingAsync(bool serving) =>
        await ReplyToPingAsync() is { } reply
        && (reply.StartsWith("+PONG", StringComparison.Ordinal) || (!serving && reply.StartsWith("-LOADING", StringComparison.Ordinal)));

    /// <summary>True while the engine answers -LOADING: restarted, still reading its files.</summary>
    public async Task<bool> IsLoadingAsync() => (await ReplyToPingAsync())?.StartsWith("-LOADING", StringComparison.Ordinal) == true;

    /// <summary>The engine's reply line to PING (after AUTH when it asks for a password), or null when it does not answer.</summary>
    private async Task<string?> ReplyToPingAsync()
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync("127.0.0.1", Port);
            Stream stream = client.GetStream();
            if (_tls is not null)
            {
                var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                await ssl.AuthenticateAsClientAsync(_credentials.ClientTls("127.0.0.1"));
                stream = ssl;
            }
            var credentials = _credentials;
            var replies = 1;
            if (credentials.ResolvedPassword() is { } password)
            {
                var user = credentials.User is { Length: > 0 } u ? u : "default";
                await stream.WriteAsync(Encoding.UTF8.GetBytes($"AUTH {user} {password}\r\n"));
                replies++;
            }
            await stream.WriteAsync("PING\r\n"u8.ToArray());
            var answer = new StringBuilder();
            var buffer = new byte[128];
            while (answer.ToString().Split("\r\n").Length <= replies)
            {
                var read = await stream.ReadAsync(buffer);
                if (read == 0) return null;
                answer.Append(Encoding.ASCII.GetString(buffer, 0, read));
            }
            // While loading the AOF redis answers -LOADING; only +PONG means it serves.
            return answer.ToString().Split("\r\n")[replies - 1];
        }
        catch (Exception ex) when (ex is SocketException or IOException)
        {
            return null; // not listening yet, or closed the TLS handshake while starting
        }
    }

    private async Task SerializedAsync(Func<Task> operation)
    {
        await _lifecycle.WaitAsync();
        try
        {
            await operation();
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process?.Dispose();
        try { System.IO.Directory.Delete(Directory, recursive: true); }
        catch (IOException) { /* a file still being written by the dying server: the temp dir is cleaned later */ }
    }
}

internal static class TaskExtensions
{
    public static void Forget(this Task task) => _ = task;
}
