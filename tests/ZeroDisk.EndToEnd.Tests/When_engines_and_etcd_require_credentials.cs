using System.Security.Cryptography;
using StackExchange.Redis;
using ZeroDisk.LocalStack;
using ZeroDisk.ServiceDefaults.Engines;

namespace ZeroDisk.EndToEnd.Tests;

/// <summary>
/// Issue 21: the engines ask for a password (an ACL user) and etcd has authentication on: whoever lacks them is
/// refused, saying why, without a crash loop. The drill with the passwords on runs in
/// <see cref="When_engines_and_etcd_require_tls"/>, with TLS on as well (one drill for both, CI's time).
/// </summary>
public class When_engines_and_etcd_require_credentials(When_engines_and_etcd_require_credentials.AuthOnEtcd etcd)
    : IClassFixture<When_engines_and_etcd_require_credentials.AuthOnEtcd>
{
    [Fact]
    public async Task A_service_without_them_is_refused_by_etcd_and_the_engines_and_says_why()
    {
        // A real service (the scheduler reads its recorded work from etcd when it starts), with no etcd credentials.
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
        var dll = Path.Combine(RepoPaths.Root, "services", "RepairScheduler", "bin", configuration, "net10.0", "repairscheduler.dll");
        var infra = await Testing.SharedInfrastructure.GetAsync();
        var environment = new Dictionary<string, string>(etcd.EnvironmentWithoutCredentials())
        {
            ["RABBITMQ_URI"] = infra.RabbitMqUri.ToString(),
            ["Scheduler__EndpointPrefix"] = $"auth-{Guid.NewGuid():N}"[..16] + "-",
            ["Operations__Url"] = $"http://127.0.0.1:{FreePort.Next()}",
        };
        await using (var scheduler = BackgroundProcess.Start("dotnet", [dll], environment))
        {
            await Eventually.UntilAsync(() => Task.FromResult((scheduler.StdOut + scheduler.StdErr).Contains("no etcd credentials", StringComparison.Ordinal)),
                "the scheduler logs that etcd refused it for lack of credentials", TimeSpan.FromMinutes(2),
                detail: () => $"stdout: {scheduler.StdOut}\nstderr: {scheduler.StdErr}");
            Assert.Contains("user name is empty", scheduler.StdOut + scheduler.StdErr);
            // Refused, not crashed: it keeps running and says so again on its readiness probe, not in a restart loop.
            await Task.Delay(TimeSpan.FromSeconds(3));
            Assert.False(scheduler.Process.HasExited, $"the scheduler exited {(scheduler.Process.HasExited ? scheduler.Process.ExitCode : 0)}\n{scheduler.StdOut}{scheduler.StdErr}");
        }

        // The engines: the connection every service builds (EngineConnection), without the password, and with a wrong one.
        await using var engine = await RedisServerProcess.StartAsync(credentials: etcd.EngineCredentials);
        foreach (var presented in new[] { new EngineCredentials(), new EngineCredentials { User = "zerodisk", Password = "wrong" } })
        {
            var refused = await Assert.ThrowsAsync<RedisConnectionException>(() =>
                EngineConnection.ConnectAsync($"{engine.Address},abortConnect=true,connectRetry=0,connectTimeout=5000", presented));
            // StackExchange.Redis: "There was an authentication failure; check that passwords … are configured correctly".
            Assert.Contains("authentication failure", refused.Message, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(etcd.EnginePassword, refused.ToString());
        }
        await using var allowed = await EngineConnection.ConnectAsync($"{engine.Address},abortConnect=true", etcd.EngineCredentials);
        Assert.Equal("PONG", (string?)await allowed.GetDatabase().ExecuteAsync("PING"));
    }

    /// <summary>A private one-member etcd with authentication on, and the engines' and etcd's passwords in files.</summary>
    public sealed class AuthOnEtcd : IAsyncLifetime
    {
        private readonly string _directory = Path.Combine(Path.GetTempPath(), "zd-auth-" + Guid.NewGuid().ToString("N")[..8]);
        private EtcdClusterProcess? _etcd;

        public string EnginePassword { get; } = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        public string EtcdPassword { get; } = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        public EngineCredentials EngineCredentials => new() { User = "zerodisk", PasswordFile = File(nameof(EnginePassword)) };

        public async Task InitializeAsync()
        {
            Directory.CreateDirectory(_directory);
            await System.IO.File.WriteAllTextAsync(File(nameof(EnginePassword)), EnginePassword);
            _etcd = await EtcdClusterProcess.StartAsync(members: 1);
            await _etcd.EnableAuthAsync("zerodisk", EtcdPassword);
        }

        /// <summary>The variables of a process that uses this etcd (and engines) without any credentials.</summary>
        public IReadOnlyDictionary<string, string> EnvironmentWithoutCredentials() => new Dictionary<string, string>
        {
            ["ETCD_ENDPOINTS"] = _etcd!.Endpoints,
            ["Etcd__User"] = "", ["Etcd__PasswordFile"] = "", ["Engines__User"] = "", ["Engines__PasswordFile"] = "",
        };

        private string File(string name) => Path.Combine(_directory, name);

        public async Task DisposeAsync()
        {
            if (_etcd is not null) await _etcd.DisposeAsync();
            Directory.Delete(_directory, recursive: true);
        }
    }
}
