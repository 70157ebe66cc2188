using System.Security.Cryptography;
using ZeroDisk.Contracts;
using ZeroDisk.ServiceDefaults.Etcd;
using ZeroDisk.Testing;
using ZeroDisk.Tlog;

namespace ZeroDisk.NbdHost.Tests.Tlog;

/// <summary>
/// The command line as an operator runs it: <c>nbdhost tlog --secret-file … --etcd …</c> serves only clients with the
/// secret and the current owner epoch; <c>nbdhost replay</c> reads the log back only with the secret and
/// <c>--claim-source</c> (the claim gives it the current epoch); a secret file that cannot be read stops the server at start.
/// </summary>
public sealed class When_nbdhost_tlog_and_replay_run_with_a_secret : IAsyncLifetime
{
    private static readonly string NbdHost = Path.Combine(AppContext.BaseDirectory, "nbdhost.dll");
    private readonly string _directory = Directory.CreateTempSubdirectory("zd-tlog-cli").FullName;
    private readonly string _vdisk = TestNames.Unique("vd");
    private string _etcdEndpoints = null!;
    private dotnet_etcd.EtcdClient _etcd = null!;

    public async Task InitializeAsync()
    {
        _etcdEndpoints = (await SharedInfrastructure.GetAsync()).EtcdEndpoints;
        _etcd = EtcdExtensions.CreateClient(_etcdEndpoints);
        await File.WriteAllTextAsync(Path.Combine(_directory, "secret"), "a tlog cluster secret, 32 bytes!\n");
    }

    public async Task DisposeAsync()
    {
        await _etcd.DeleteAsync(EtcdKeys.VdiskOwner(_vdisk));
        _etcd.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task Only_a_client_with_the_secret_and_the_current_epoch_writes_and_reads_back()
    {
        var port = FreePort.Next();
        var address = $"127.0.0.1:{port}";
        var secretFile = Path.Combine(_directory, "secret");
        await using var server = BackgroundProcess.Start("dotnet",
            [NbdHost, "tlog", "--listen", address, "--data", Path.Combine(_directory, "data"), "--secret-file", secretFile, "--etcd", _etcdEndpoints]);
        await server.WaitForStdErrAsync(l => l.Contains("clients authenticated: True; owner epochs checked: True"), "tlog server listening", TimeSpan.FromSeconds(60));

        await _etcd.PutJsonAsync(EtcdKeys.VdiskOwner(_vdisk), new VdiskOwner("test-server", VdiskOwnerKind.Vm, 3));
        var data = Enumerable.Repeat((byte)0x5a, 4096).ToArray();
        await using (var owner = await TlogConnection.ConnectAsync(address, TimeSpan.FromSeconds(10), CancellationToken.None, TlogSecret.FromFile(secretFile)))
        {
            var record = new TlogRecord { VdiskId = _vdisk, Epoch = 3, Sequence = 1, BlockIndex = 2, TimestampMs = 1, Hash = SHA256.HashData(data), Data = data };
            Assert.True((await owner.AppendAsync(record, CancellationToken.None)).Acknowledged);
        }
        await Assert.ThrowsAsync<IOException>(() => TlogConnection.ConnectAsync(address, TimeSpan.FromSeconds(10), CancellationToken.None));

        await _etcd.DeleteAsync(EtcdKeys.VdiskOwner(_vdisk)); // the server stopped serving it: a replay may claim it
        var image = Path.Combine(_directory, "image.raw");
        string[] replay = [NbdHost, "replay", "--tlog", address, "--vdisk", _vdisk, "--to", image, "--size", "16384", "--etcd", _etcdEndpoints];
        var withoutSecret = await ExternalProcess.RunAsync("dotnet", [.. replay, "--claim-source"], TimeSpan.FromMinutes(1));
        Assert.True(withoutSecret.ExitCode != 0, withoutSecret.StdErr);
        Assert.Contains("requires the cluster's secret", withoutSecret.StdErr);
        var withoutClaim = await ExternalProcess.RunAsync("dotnet", [.. replay, "--secret-file", secretFile], TimeSpan.FromMinutes(1));
        Assert.True(withoutClaim.ExitCode != 0, withoutClaim.StdErr + withoutClaim.StdOut);
        Assert.True(withoutClaim.StdErr.Contains("owner epoch 0") || withoutClaim.StdErr.Contains("epoch 0 is not current"), withoutClaim.StdErr); // refused: no claim, no epoch

        (await ExternalProcess.RunAsync("dotnet", [.. replay, "--secret-file", secretFile, "--claim-source"], TimeSpan.FromMinutes(1))).EnsureSuccess("nbdhost replay");
        var replayed = await File.ReadAllBytesAsync(image);
        Assert.Equal(data, replayed[8192..12288]);
        Assert.All(replayed[..8192], b => Assert.Equal(0, b));
    }

    [Fact]
    public async Task A_secret_file_that_cannot_be_read_stops_the_server_at_start()
    {
        var result = await ExternalProcess.RunAsync("dotnet",
            [NbdHost, "tlog", "--listen", $"127.0.0.1:{FreePort.Next()}", "--data", Path.Combine(_directory, "data"), "--secret-file", Path.Combine(_directory, "missing")],
            TimeSpan.FromMinutes(1));
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("invalid configuration: --secret-file:", result.StdErr);
    }
}
