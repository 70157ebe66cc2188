using System.Security.Cryptography;
using ZeroDisk.LocalStack;

namespace ZeroDisk.EndToEnd.Tests;

/// <summary>
/// Issue 21: the engines listen with TLS only and etcd on https, both asking for client certificates of a private CA
/// (<c>scripts/lib/store-pki.sh</c>, as <c>scripts/infra.sh up --auth --tls</c>), and both asking for passwords too.
/// The drill runs every real service and tool on them — NBD servers whose data path writes and reads the blocks of
/// real NBD clients through TLS engines, the scheduler probing and verifying them, ClusterState's checks and markers,
/// every etcd client over https — all configured from <c>Engines__*</c>/<c>Etcd__*</c> as run/infra.env gives them.
/// The engines the drill starts have no plaintext port: a step that bypassed TLS would fail it.
/// </summary>
public class When_engines_and_etcd_require_tls(When_engines_and_etcd_require_tls.TlsOnStores stores)
    : IClassFixture<When_engines_and_etcd_require_tls.TlsOnStores>
{
    [Fact]
    public async Task The_whole_drill_passes_with_tls_and_passwords_to_engines_and_etcd()
    {
        var drill = await DrillRunner.RunAsync(stores.Environment(), "--outage", "tmp", "--side", "slave", "--load-seconds", "10");
        Assert.True(drill.ExitCode == 0, drill.StdOut + drill.StdErr);
        Assert.Contains("Drill passed: every check held.", drill.StdOut);
        foreach (var secret in new[] { stores.EnginePassword, stores.EtcdPassword })
            Assert.DoesNotContain(secret, drill.StdOut + drill.StdErr);
    }

    /// <summary>A PKI, a private one-member etcd on https with authentication on, and the passwords in files.</summary>
    public sealed class TlsOnStores : IAsyncLifetime
    {
        private readonly string _directory = Path.Combine(Path.GetTempPath(), "zd-tls-" + Guid.NewGuid().ToString("N")[..8]);
        private StorePki? _pki;
        private EtcdClusterProcess? _etcd;

        public string EnginePassword { get; } = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        public string EtcdPassword { get; } = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));

        public async Task InitializeAsync()
        {
            Directory.CreateDirectory(_directory);
            await File.WriteAllTextAsync(Secret(nameof(EnginePassword)), EnginePassword);
            await File.WriteAllTextAsync(Secret(nameof(EtcdPassword)), EtcdPassword);
            _pki = await StorePki.CreateAsync();
            _etcd = await EtcdClusterProcess.StartAsync(members: 1, _pki.Server(clientCertificates: true), _pki.EtcdClient());
            await _etcd.EnableAuthAsync("zerodisk", EtcdPassword);
        }

        /// <summary>The variables of an <c>--auth --tls</c> run/infra.env, for this etcd and for engines with TLS and the password.</summary>
        public IReadOnlyDictionary<string, string> Environment()
        {
            var server = _pki!.Server(clientCertificates: true);
            return new Dictionary<string, string>
            {
                ["ETCD_ENDPOINTS"] = _etcd!.Endpoints,
                ["Etcd__User"] = "zerodisk",
                ["Etcd__PasswordFile"] = Secret(nameof(EtcdPassword)),
                ["Etcd__CaFile"] = _pki.CaFile,
                ["Etcd__CertificateFile"] = _pki.ClientCertificateFile,
                ["Etcd__KeyFile"] = _pki.ClientKeyFile,
                ["Engines__User"] = "zerodisk",
                ["Engines__PasswordFile"] = Secret(nameof(EnginePassword)),
                ["Engines__UseTls"] = "true",
                ["Engines__CaFile"] = _pki.CaFile,
                ["Engines__CertificateFile"] = _pki.ClientCertificateFile,
                ["Engines__KeyFile"] = _pki.ClientKeyFile,
                [ServerTls.CertificateVariable] = server.CertificateFile,
                [ServerTls.KeyVariable] = server.KeyFile,
            };
        }

        private string Secret(string name) => Path.Combine(_directory, name);

        public async Task DisposeAsync()
        {
            if (_etcd is not null) await _etcd.DisposeAsync();
            _pki?.Dispose();
            Directory.Delete(_directory, recursive: true);
        }
    }
}
