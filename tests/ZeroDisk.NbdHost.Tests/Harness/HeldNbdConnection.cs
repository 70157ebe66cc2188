namespace ZeroDisk.NbdHost.Tests.Harness;

/// <summary>
/// One NBD connection (nbdsh, libnbd) kept open across what the test does to the server, as a VM's would be: it writes
/// <c>0x11</c> to the first 16 KiB when it connects, then reads or writes those 16 KiB each time it is asked, and
/// answers with the outcome, so a test sees what the <em>same</em> client gets before and after, e.g. a takeover.
/// </summary>
public sealed class HeldNbdConnection : IAsyncDisposable
{
    public const int Length = 16 * 1024;

    private const string Script = """
        import sys
        import nbd
        h.pwrite(b'\x11' * 16384, 0)
        print('ready', flush=True)
        for line in sys.stdin:
            cmd = line.strip()
            try:
                if cmd == 'read':
                    data = h.pread(16384, 0)
                    print('read ok %02x' % data[0], flush=True)
                elif cmd == 'write':
                    h.pwrite(b'\x66' * 16384, 0)
                    print('write ok', flush=True)
            except nbd.Error as e:
                print('%s failed errno %s: %s' % (cmd, e.errno, e.string), flush=True)
        """;

    private readonly BackgroundProcess _nbdsh;

    private HeldNbdConnection(BackgroundProcess nbdsh) => _nbdsh = nbdsh;

    public static async Task<HeldNbdConnection> OpenAsync(string uri)
    {
        // nbdsh needs Debian's python3 (with the nbd module) first on PATH.
        var environment = new Dictionary<string, string> { ["PATH"] = "/usr/bin:/bin:" + Environment.GetEnvironmentVariable("PATH") };
        var connection = new HeldNbdConnection(BackgroundProcess.Start("nbdsh", ["-u", uri, "-c", Script], environment, redirectStdin: true));
        await connection._nbdsh.WaitForStdOutAsync(l => l == "ready", "nbdsh connected and wrote 0x11", TimeSpan.FromSeconds(60));
        return connection;
    }

    /// <summary>"read ok 11", "write ok", or "read failed errno EIO: …".</summary>
    public Task<string> ReadAsync() => AskAsync("read");

    public Task<string> WriteAsync() => AskAsync("write");

    private async Task<string> AskAsync(string command)
    {
        var answered = Answers().Count;
        await _nbdsh.Process.StandardInput.WriteLineAsync(command);
        await _nbdsh.Process.StandardInput.FlushAsync();
        // Generous: the request of a process just resumed from SIGSTOP waits for its runtime to catch up.
        await _nbdsh.WaitForStdOutAsync(_ => Answers().Count > answered, $"nbdsh answered '{command}'", TimeSpan.FromSeconds(60));
        return Answers()[answered];
    }

    /// <summary>Reads until the server has closed the connection (libnbd: the handle is no longer connected); returns that answer.</summary>
    public async Task<string> WaitUntilClosedAsync(TimeSpan timeout)
    {
        var answer = await Eventually.ValueAsync(async () =>
        {
            var read = await ReadAsync();
            Assert.DoesNotMatch("^read ok", read);
            return read;
        }, read => !read.StartsWith("read failed errno EIO:", StringComparison.Ordinal), timeout, TimeSpan.FromMilliseconds(200),
            "the server closes the connection");
        Assert.Matches("errno (ENOTCONN|ESHUTDOWN|ECONNRESET|EPIPE)", answer);
        return answer;
    }

    private List<string> Answers() => _nbdsh.StdOutLines.Where(l => l != "ready").ToList();

    public async ValueTask DisposeAsync()
    {
        if (!_nbdsh.Process.HasExited) _nbdsh.Process.StandardInput.Close();
        await _nbdsh.DisposeAsync();
    }
}
