using System.Diagnostics;
using System.Net.Http;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.LocalStack;

/// <summary>
/// A private etcd cluster of several members on loopback ports, for tests of what survives the loss of a member.
/// Members are SIGKILLed by PID and can be started again on their data and ports; the data directories go away on dispose.
/// </summary>
public sealed class EtcdClusterProcess : IAsyncDisposable
{
    private readonly Process?[] _members;
    private readonly ProcessStartInfo?[] _startInfos;
    private readonly int[] _clientPorts;
    private readonly string _directory;
    private readonly ServerTls? _tls;
    private readonly EtcdCredentials _client;

    private EtcdClusterProcess(int members, string directory, ServerTls? tls, EtcdCredentials client)
    {
        _tls = tls;
        _client = client;
        _members = new Process?[members];
        _startInfos = new ProcessStartInfo?[members];
        _clientPorts = Enumerable.Range(0, members).Select(_ => FreePort.Next()).ToArray();
        _directory = directory;
    }

    /// <summary>Every member's client URL, comma-separated (ETCD_ENDPOINTS).</summary>
    public string Endpoints => string.Join(',', _clientPorts.Select(Url));

    public string Endpoint(int member) => Url(_clientPorts[member]);

    /// <param name="tls">https client URLs with this certificate (peers stay plain on loopback).</param>
    /// <param name="client">With <paramref name="tls"/>: the CA and client certificate this class's own health checks and etcdctl use.</param>
    public static async Task<EtcdClusterProcess> StartAsync(int members = 3, ServerTls? tls = null, EtcdCredentials? client = null)
    {
        var cluster = new EtcdClusterProcess(members, Path.Combine(Path.GetTempPath(), "zd-etcd-" + Guid.NewGuid().ToString("N")[..8]),
            tls, client ?? new EtcdCredentials());
        var peerPorts = Enumerable.Range(0, members).Select(_ => FreePort.Next()).ToArray();
        var initial = string.Join(',', peerPorts.Select((p, i) => $"m{i}=http://127.0.0.1:{p}"));
        for (var i = 0; i < members; i++)
        {
            var psi = new ProcessStartInfo("etcd") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var arg in new[]
                     {
                         "--name", $"m{i}", "--data-dir", Path.Combine(cluster._directory, $"m{i}"),
                         "--listen-client-urls", cluster.Url(cluster._clientPorts[i]), "--advertise-client-urls", cluster.Url(cluster._clientPorts[i]),
                         "--listen-peer-urls", $"http://127.0.0.1:{peerPorts[i]}", "--initial-advertise-peer-urls", $"http://127.0.0.1:{peerPorts[i]}",
                         "--initial-cluster", initial, "--initial-cluster-state", "new", "--initial-cluster-token", Path.GetFileName(cluster._directory),
                     })
                psi.ArgumentList.Add(arg);
            foreach (var arg in tls?.EtcdArguments() ?? []) psi.ArgumentList.Add(arg);
            cluster._startInfos[i] = psi;
            cluster.Launch(i);
        }
        foreach (var port in cluster._clientPorts) await cluster.HealthyAsync(port);
        return cluster;
    }

    /// <summary>Starts a killed member again, on its own data directory and ports, and waits until it is healthy.</summary>
    public async Task StartAgainAsync(int member)
    {
        if (_members[member] is { HasExited: false }) return;
        _members[member]?.Dispose();
        Launch(member);
        await HealthyAsync(_clientPorts[member]);
    }

    private void Launch(int member)
    {
        var process = Process.Start(_startInfos[member]!) ?? throw new InvalidOperationException("could not start etcd");
        // Nobody reads etcd's chatter; drain it so a full pipe never blocks the member.
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _members[member] = process;
    }

    private async Task HealthyAsync(int port)
    {
        using var http = new HttpClient(new SocketsHttpHandler { SslOptions = _client.ClientTls(host: null) }) { Timeout = TimeSpan.FromSeconds(2) };
        await Eventually.UntilAsync(async () =>
        {
            try
            {
                return (await http.GetAsync($"{Url(port)}/health")).IsSuccessStatusCode;
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                return false;
            }
        }, $"etcd member on {port} healthy", TimeSpan.FromSeconds(30));
    }

    /// <summary>
    /// Turns etcd's authentication on as <c>scripts/infra.sh up --auth</c> does: a root user, a role with read-write on
    /// every key, and <paramref name="user"/> in it.
    /// </summary>
    public async Task EnableAuthAsync(string user, string password)
    {
        var root = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        string[][] steps =
        [
            ["user", "add", "root", $"--new-user-password={root}"], ["role", "add", "root"], ["user", "grant-role", "root", "root"],
            ["role", "add", "zerodisk"], ["role", "grant-permission", "zerodisk", "readwrite", "--from-key", ""],
            ["user", "add", user, $"--new-user-password={password}"], ["user", "grant-role", user, "zerodisk"], ["auth", "enable"],
        ];
        foreach (var step in steps)
            (await ExternalProcess.RunAsync("etcdctl", ["--endpoints", Endpoints, .. EtcdctlTls(), .. step], TimeSpan.FromSeconds(30), new Dictionary<string, string> { ["ETCDCTL_API"] = "3" }))
                .EnsureSuccess($"etcdctl {step[0]} {step[1]}");
    }

    /// <summary>SIGKILL one member, as a crashed node.</summary>
    public async Task KillAsync(int member)
    {
        if (_members[member] is not { HasExited: false } process) return;
        process.Kill();
        await process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        for (var i = 0; i < _members.Length; i++)
        {
            await KillAsync(i);
            _members[i]?.Dispose();
        }
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private string[] EtcdctlTls() => _tls is null ? [] :
    [
        .. _client.CaFile is { Length: > 0 } ca ? new[] { "--cacert", ca } : [],
        .. _client.CertificateFile is { Length: > 0 } certificate ? new[] { "--cert", certificate, "--key", _client.KeyFile ?? "" } : [],
    ];

    private string Url(int port) => $"{(_tls is null ? "http" : "https")}://127.0.0.1:{port}";
}
