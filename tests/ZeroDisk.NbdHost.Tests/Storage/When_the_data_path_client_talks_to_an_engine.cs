using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using StackExchange.Redis;
using ZeroDisk.Storage.Resp;

namespace ZeroDisk.NbdHost.Tests.Storage;

/// <summary>
/// The data path's own RESP client (<see cref="RespConnection"/>) against real redis-servers: AUTH with a password
/// and with an ACL user, TLS, pipelined commands answered in order, scripts by SHA, and the failure semantics the
/// storage code relies on — a hung engine fails the connection within the command timeout, a killed one at once,
/// and no command waits across a reconnect.
/// </summary>
public sealed class When_the_data_path_client_talks_to_an_engine : IAsyncLifetime
{
    private const string Password = "data-path-secret";
    private readonly List<Process> _servers = [];
    private readonly List<string> _directories = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var server in _servers)
        {
            if (server.HasExited) continue;
            server.Kill();
            await server.WaitForExitAsync();
        }
        foreach (var directory in _directories) Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async Task It_authenticates_with_the_password_and_refuses_a_wrong_one()
    {
        var port = await StartServerAsync("--requirepass", Password);
        await using (var client = Connect(port, password: Password))
        {
            await client.ExecuteAsync("SET", "k", "v");
            Assert.Equal("v", (await client.ExecuteAsync("GET", "k")).Text);
        }
        await using (var anonymous = Connect(port))
        {
            var refused = await Assert.ThrowsAsync<RedisServerException>(() => anonymous.ExecuteAsync("GET", "k"));
            Assert.StartsWith("NOAUTH", refused.Message, StringComparison.Ordinal);
        }
        await using var wrong = Connect(port, password: "not-it");
        var error = await Assert.ThrowsAsync<RedisConnectionException>(() => wrong.ExecuteAsync("GET", "k"));
        Assert.Equal(ConnectionFailureType.AuthenticationFailure, error.FailureType);
    }

    [Fact]
    public async Task It_authenticates_as_an_acl_user_and_selects_its_database()
    {
        var port = await StartServerAsync("--requirepass", Password, "--user", "nbdhost", "on", ">user-secret", "~*", "+@all");
        await using var client = Connect(port, user: "nbdhost", password: "user-secret", database: 3);
        await client.ExecuteAsync("SET", "acl-key", "in-db-3");
        Assert.Equal("nbdhost", (await client.ExecuteAsync("ACL", "WHOAMI")).Text);
        await using var db0 = Connect(port, password: Password);
        Assert.True((await db0.ExecuteAsync("GET", "acl-key")).IsNull);
        await db0.ExecuteAsync("SELECT", 3);
        Assert.Equal("in-db-3", (await db0.ExecuteAsync("GET", "acl-key")).Text);
    }

    [Fact]
    public async Task It_talks_tls_to_an_engine_that_requires_it()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        var directory = NewDirectory();
        var certFile = Path.Combine(directory, "engine.crt");
        var keyFile = Path.Combine(directory, "engine.key");
        await File.WriteAllTextAsync(certFile, certificate.ExportCertificatePem());
        await File.WriteAllTextAsync(keyFile, key.ExportPkcs8PrivateKeyPem());
        var port = await StartServerAsync(["--requirepass", Password, "--tls-port", "{port}", "--port", "0", "--tls-cert-file", certFile,
            "--tls-key-file", keyFile, "--tls-ca-cert-file", certFile, "--tls-auth-clients", "no"], tlsCheck: true);

        var tls = new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            // Pinned: the engine's self-signed certificate, and nothing else.
            RemoteCertificateValidationCallback = (_, presented, _, _) => presented is not null && presented.GetCertHashString() == certificate.GetCertHashString(),
        };
        await using var client = Connect(port, password: Password, tls: tls);
        await client.ExecuteAsync("SET", "tls-key", "over-tls");
        Assert.Equal("over-tls", (await client.ExecuteAsync("GET", "tls-key")).Text);

        await using var plain = Connect(port, password: Password); // a plaintext client gets nowhere on a TLS port
        await Assert.ThrowsAnyAsync<RedisException>(() => plain.ExecuteAsync("GET", "tls-key"));
    }

    [Fact]
    public async Task Pipelined_commands_are_answered_in_order_and_scripts_run_by_sha()
    {
        var port = await StartServerAsync("--requirepass", Password);
        await using var client = Connect(port, password: Password);
        var block = Enumerable.Range(0, 4096).Select(i => (byte)(i * 7)).ToArray();
        await Task.WhenAll(Enumerable.Range(0, 2000).Select(i => client.ExecuteAsync("HSET", "blocks", i, i % 2 == 0 ? block : Encoding.ASCII.GetBytes($"v{i}"))));
        var buffers = Enumerable.Range(0, 2000).Select(_ => new byte[4096]).ToArray();
        var lengths = await Task.WhenAll(Enumerable.Range(0, 2000).Select(i => client.ReadBulkIntoAsync(buffers[i], "HGET", "blocks", i)));
        for (var i = 0; i < 2000; i++)
        {
            if (i % 2 == 0)
            {
                Assert.Equal(4096, lengths[i]);
                Assert.Equal(block, buffers[i]);
            }
            else Assert.Equal($"v{i}", Encoding.ASCII.GetString(buffers[i], 0, lengths[i]));
        }
        Assert.Equal(-1, await client.ReadBulkIntoAsync(new byte[16], "HGET", "blocks", "absent"));

        var script = new RespScript("return redis.call('HLEN', KEYS[1]) + tonumber(ARGV[1])");
        Assert.Equal(2001, (await client.EvalAsync(script, [(RespArg)"blocks"], [(RespArg)1L])).Integer); // EVAL: first on this connection
        Assert.Equal(2002, (await client.EvalAsync(script, [(RespArg)"blocks"], [(RespArg)2L])).Integer); // EVALSHA
        await client.ExecuteAsync("SCRIPT", "FLUSH");
        Assert.Equal(2003, (await client.EvalAsync(script, [(RespArg)"blocks"], [(RespArg)3L])).Integer); // NOSCRIPT, then EVAL
        var error = await Assert.ThrowsAsync<RedisServerException>(() => client.EvalAsync(new RespScript("return redis.error_reply('FENCED no')"), [], []));
        Assert.StartsWith("FENCED", error.Message, StringComparison.Ordinal);
        Assert.True(client.IsConnected); // an error reply is an answer, not a broken connection
    }

    [Fact]
    public async Task A_hung_engine_fails_the_connection_within_the_command_timeout_and_a_later_command_reconnects()
    {
        var port = await StartServerAsync("--requirepass", Password);
        await using var client = Connect(port, password: Password, commandTimeout: TimeSpan.FromMilliseconds(500));
        var failures = 0;
        client.Failed += _ => Interlocked.Increment(ref failures);
        await client.ExecuteAsync("SET", "k", "before");

        await SignalAsync("STOP", port);
        var clock = Stopwatch.StartNew();
        var hung = await Assert.ThrowsAsync<RedisTimeoutException>(() => client.ExecuteAsync("GET", "k"));
        var detected = clock.Elapsed;
        Assert.True(detected < TimeSpan.FromSeconds(3), $"the hang was noticed after {detected.TotalMilliseconds:F0} ms (timeout 500 ms); {hung.Message}");
        Assert.Equal(1, Volatile.Read(ref failures));
        Assert.False(client.IsConnected);

        await SignalAsync("CONT", port);
        Assert.Equal("before", (await client.ExecuteAsync("GET", "k")).Text);
        Assert.True(client.IsConnected);
    }

    [Fact]
    public async Task A_killed_engine_fails_every_command_on_the_connection_at_once()
    {
        var port = await StartServerAsync("--requirepass", Password);
        await using var client = Connect(port, password: Password, commandTimeout: TimeSpan.FromSeconds(30));
        Exception? failed = null;
        client.Failed += error => failed = error;
        await client.ExecuteAsync("PING");

        // A blocked command keeps the connection busy; the engine dies under it.
        var waiting = client.ExecuteAsync("BLPOP", "never", 0);
        var server = _servers.Single(s => s.StartInfo.ArgumentList.Contains(port.ToString(CultureInfo.InvariantCulture)));
        server.Kill();
        await server.WaitForExitAsync();
        var clock = Stopwatch.StartNew();
        await Assert.ThrowsAsync<RedisConnectionException>(() => waiting);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"noticed after {clock.Elapsed}");
        Assert.IsType<RedisConnectionException>(failed);
        // Nothing waits for a reconnect: with the engine gone, the next command fails too.
        await Assert.ThrowsAsync<RedisConnectionException>(() => client.ExecuteAsync("PING"));
    }

    [Fact]
    public async Task A_watched_transaction_is_not_applied_when_a_watched_key_changes_after_its_read()
    {
        var port = await StartServerAsync();
        await using var writer = Connect(port);
        await using var other = Connect(port);
        await other.ExecuteAsync("SET", "fence", "1");

        var values = Array.Empty<string>();
        var voided = await writer.WatchedTransactionAsync(["fence"], read =>
        {
            values = [.. read.Select(r => r.Text ?? "(nil)")];
            // Another writer raises the fence between this writer's check and its write. Synchronously, from another
            // thread: this callback may run on the writer's reply thread, whose sends wait for the end of its burst.
            Assert.True(Task.Run(() => other.ExecuteAsync("SET", "fence", "2")).Wait(TimeSpan.FromSeconds(10)), "the other writer's SET was not answered");
            return [["SET", "data", "stale-writer"]];
        });

        Assert.Equal(["1"], values);
        Assert.True(voided.IsNull, $"EXEC should have refused the transaction, replied {voided}");
        Assert.True((await other.ExecuteAsync("GET", "data")).IsNull);

        var applied = await writer.WatchedTransactionAsync(["fence"], read => [["SET", "data", read[0].Text!]]);
        Assert.Equal(RespKind.Array, applied.Kind);
        Assert.Equal("2", (await other.ExecuteAsync("GET", "data")).Text);
    }

    [Fact]
    public async Task A_refused_watched_transaction_sends_nothing_and_leaves_nothing_watched()
    {
        var port = await StartServerAsync();
        await using var writer = Connect(port);
        await using var other = Connect(port);

        await Assert.ThrowsAsync<RedisServerException>(() => writer.WatchedTransactionAsync(["fence"], _ => throw new RedisServerException("FENCED refused")));
        await other.ExecuteAsync("SET", "fence", "raised");

        // Had the refused one left its WATCH, this transaction would be voided by the SET above.
        var applied = await writer.WatchedTransactionAsync(["other-key"], _ => [["SET", "data", "after"]]);
        Assert.Equal(RespKind.Array, applied.Kind);
        Assert.Equal("after", (await other.ExecuteAsync("GET", "data")).Text);
    }

    [Fact]
    public async Task The_write_half_of_a_watched_transaction_never_goes_to_a_later_connection()
    {
        var port = await StartServerAsync();
        await using var writer = Connect(port, commandTimeout: TimeSpan.FromMilliseconds(100));
        await using var other = Connect(port);
        var id = (await writer.ExecuteAsync("CLIENT", "ID")).Integer;

        var lost = await Assert.ThrowsAnyAsync<Exception>(() => writer.WatchedTransactionAsync(["fence"], read =>
        {
            // The socket that holds the WATCH fails before the write half is sent: the engine closes it, and a command
            // left unanswered on it passes the command timeout (should this callback hold the socket's reply thread,
            // the close goes unseen until then).
            Assert.True(Task.Run(() => other.ExecuteAsync("CLIENT", "KILL", "ID", id)).Wait(TimeSpan.FromSeconds(10)), "CLIENT KILL was not answered");
            _ = writer.ExecuteAsync("PING").ContinueWith(static t => _ = t.Exception, TaskScheduler.Default);
            Assert.True(SpinWait.SpinUntil(() => !writer.IsConnected, TimeSpan.FromSeconds(10)), "the connection should have failed");
            return [["SET", "data", "unguarded"]];
        }));

        Assert.True(lost is RedisException or TimeoutException, lost.ToString()); // what an engine failure looks like
        Assert.True((await other.ExecuteAsync("GET", "data")).IsNull, $"the write ran without its WATCH ({lost.Message})");
        Assert.Equal("PONG", (await writer.ExecuteAsync("PING")).Text); // the next command connects again
    }

    private static RespConnection Connect(int port, string? user = null, string? password = null, int database = 0,
        SslClientAuthenticationOptions? tls = null, TimeSpan? commandTimeout = null) =>
        new(new RespConnectionOptions
        {
            EndPoint = new IPEndPoint(IPAddress.Loopback, port),
            User = user,
            Password = password,
            Database = database,
            Tls = tls,
            CommandTimeout = commandTimeout ?? TimeSpan.FromSeconds(10),
            ConnectTimeout = TimeSpan.FromSeconds(10),
        });

    private Task<int> StartServerAsync(params string[] args) => StartServerAsync(args, tlsCheck: false);

    /// <summary>A private redis-server with <paramref name="args"/> ("{port}" replaced; else on --port); waits until it accepts connections.</summary>
    private async Task<int> StartServerAsync(string[] args, bool tlsCheck)
    {
        var port = FreePort.Next();
        var directory = NewDirectory();
        var psi = new ProcessStartInfo("redis-server") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        var all = args.Contains("{port}") ? args : ["--port", "{port}", .. args];
        foreach (var arg in new[] { "--bind", "127.0.0.1", "--dir", directory, "--save", "", "--appendonly", "no", "--logfile", Path.Combine(directory, "redis.log") }.Concat(all))
            psi.ArgumentList.Add(arg == "{port}" ? port.ToString(CultureInfo.InvariantCulture) : arg);
        var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start redis-server");
        _servers.Add(process);
        _ = process.StandardOutput.BaseStream.CopyToAsync(Stream.Null);
        _ = process.StandardError.BaseStream.CopyToAsync(Stream.Null);
        await Eventually.UntilAsync(async () =>
        {
            if (process.HasExited) throw new InvalidOperationException($"redis-server exited with {process.ExitCode}: {await File.ReadAllTextAsync(Path.Combine(directory, "redis.log"))}");
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, port);
                return true;
            }
            catch (SocketException)
            {
                return false;
            }
        }, $"redis-server on {port} (tls: {tlsCheck}) accepts connections", TimeSpan.FromSeconds(15), TimeSpan.FromMilliseconds(20));
        return port;
    }

    private string NewDirectory()
    {
        var directory = Path.Combine(Path.GetTempPath(), "zd-resp-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(directory);
        _directories.Add(directory);
        return directory;
    }

    private async Task SignalAsync(string signal, int port)
    {
        var server = _servers.Single(s => s.StartInfo.ArgumentList.Contains(port.ToString(CultureInfo.InvariantCulture)));
        (await ExternalProcess.RunAsync("kill", [$"-{signal}", server.Id.ToString(CultureInfo.InvariantCulture)])).EnsureSuccess($"kill -{signal}");
    }
}
