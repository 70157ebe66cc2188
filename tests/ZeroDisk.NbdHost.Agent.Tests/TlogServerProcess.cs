using System.Net.Sockets;

namespace ZeroDisk.NbdHost.Agent.Tests;

/// <summary>A real <c>nbdhost tlog</c> server on a loopback port; SIGKILL and restart it on its data directory.</summary>
public sealed class TlogServerProcess : IAsyncDisposable
{
    private NbdHostProcess? _process;

    private TlogServerProcess(string directory, int port)
    {
        Directory = directory;
        Port = port;
    }

    public string Directory { get; }
    public int Port { get; }
    public string Address => $"127.0.0.1:{Port}";

    public static async Task<TlogServerProcess> StartAsync(string directory)
    {
        var server = new TlogServerProcess(directory, FreePort.Next());
        await server.RestartAsync();
        return server;
    }

    public async Task RestartAsync()
    {
        System.IO.Directory.CreateDirectory(Directory);
        _process = NbdHostProcess.Start(["tlog", "--listen", Address, "--data", Path.Combine(Directory, "data")], Path.Combine(Directory, "stderr.log"));
        await WaitListeningAsync(Port, () => _process.HasExited ? _process.Stderr() : null);
    }

    public Task KillAsync() => _process?.KillAsync() ?? Task.CompletedTask;

    public static Task WaitListeningAsync(int port, Func<string?> failed) =>
        Eventually.UntilAsync(async () =>
        {
            if (failed() is { } why) throw new InvalidOperationException($"server on port {port} exited: {why}");
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync("127.0.0.1", port);
                return true;
            }
            catch (SocketException)
            {
                return false;
            }
        }, $"something listens on port {port}", TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(20));

    public async ValueTask DisposeAsync()
    {
        if (_process is not null) await _process.DisposeAsync();
    }
}
