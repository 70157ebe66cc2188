using ZeroDisk.Storage.RepairCopy;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.NbdHost.Tests.Repair;

/// <summary>
/// A fresh process sees only durable truth, for respreads: a respread's completion is recorded on the engines, so a fresh
/// <c>nbdhost serve</c> — the same server restarted, or another server the vdisk moved to — that finds the engine still
/// in repair-final-outage (other vdisks still repairing) serves the new homes and never respreads the old surviving
/// side's blocks over the client's newer writes and trims. Real processes throughout, SIGKILL for the crashes.
/// </summary>
public sealed class When_serve_restarts_after_a_respread(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Shards = 3;
    private StorageHarness _h = null!;
    private readonly List<ServeProcess> _serves = [];

    public async Task InitializeAsync() => _h = await StorageHarness.StartAsync(shards: Shards, inProcessServer: false);

    public async Task DisposeAsync()
    {
        foreach (var serve in _serves)
        {
            await serve.DisposeAsync();
            output.WriteLine($"--- nbdhost serve (port {serve.Port})");
            foreach (var line in serve.StdoutLines.Concat(serve.StderrLines).Where(l => l.Contains("respread") || l.Contains("repair") || l.Contains("fail")))
                output.WriteLine(line);
        }
        await _h.DisposeAsync();
    }

    private async Task<ServeProcess> StartServeAsync(string serverId, IReadOnlyDictionary<string, string>? environment = null)
    {
        // A short owner lease, so the vdisk can move to another server soon after its first server is killed.
        var env = new Dictionary<string, string> { ["Ownership__LeaseTtl"] = "00:00:06" };
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) env[k] = v;
        var serve = await ServeProcess.StartAsync(serverId, _h.EtcdEndpoints, environment: env);
        _serves.Add(serve);
        await serve.WaitForExportAsync(_h.VdiskId, TimeSpan.FromSeconds(60));
        return serve;
    }

    private string CompletionLine => $"{{\"type\": \"repair-final-outage-complete\", \"data\": {{\"address\": \"{_h.Clusters.Primary[0].Address}\", \"vdiskid\": \"{_h.VdiskId}\"}}}}";

    /// <summary>Kills primary 0 for good and moves it to repair-final-outage, as ClusterState does.</summary>
    private async Task LosePrimaryZeroForGoodAsync()
    {
        await _h.Clusters.Primary[0].KillAsync();
        await _h.PutStateAsync(ClusterSide.Primary, 0, EngineState.Offline);
        await _h.PutStateAsync(ClusterSide.Primary, 0, EngineState.RepairFinalOutage);
    }

    /// <summary>What the client wrote after the respread: an overwrite of the first MiB, a trim of the second; the rest 0x11.</summary>
    private static async Task OverwriteAndTrimAsync(ServeProcess serve, string vdiskId) =>
        await NbdClients.QemuIoAsync(serve.Uri(vdiskId), "write -P 0x22 0 1M", "discard 1M 1M", "write -z 3M 64k");

    private static async Task CheckAfterOverwriteAsync(ServeProcess serve, string vdiskId) =>
        await NbdClients.QemuIoAsync(serve.Uri(vdiskId), "read -P 0x22 0 1M", "read -P 0 1M 1M", "read -P 0x11 2M 1M", "read -P 0 3M 64k", "read -P 0x11 3136k 960k");

    [Fact]
    public async Task A_restarted_server_and_another_server_read_the_writes_made_after_it()
    {
        var serve = await StartServeAsync(_h.ServerId);
        await NbdClients.QemuIoAsync(serve.Uri(_h.VdiskId), "write -P 0x11 0 4M");
        await LosePrimaryZeroForGoodAsync();
        await serve.WaitForStderrAsync(CompletionLine, TimeSpan.FromSeconds(60));
        await OverwriteAndTrimAsync(serve, _h.VdiskId);

        // The record is on the surviving side (and the other serving engines) before the view switched.
        Assert.True(await _h.Inspect(_h.Clusters.Slave[0]).KeyExistsAsync(RespreadRecords.Key(_h.VdiskId, _h.Clusters.Primary[0].Address)));

        // Restarted while the engine is still repair-final-outage (other vdisks still repairing, say).
        await serve.KillAsync();
        serve = await StartServeAsync(_h.ServerId);
        await CheckAfterOverwriteAsync(serve, _h.VdiskId);
        // It says so again (the first process may have died before printing it) and copies nothing.
        await serve.WaitForStderrAsync(CompletionLine, TimeSpan.FromSeconds(30));
        Assert.DoesNotContain(serve.StdoutLines, l => l.Contains("repair ") && (l.Contains(" started: ") || l.Contains(" resumed at cursor")));
        await CheckAfterOverwriteAsync(serve, _h.VdiskId);

        // The vdisk moves to another server (different server id) after the first is killed.
        await serve.KillAsync();
        var other = TestNames.Unique("srv");
        await _h.Etcd.PutJsonAsync(EtcdKeys.NbdServerVdisks(_h.ServerId), new NbdServerVdisksConfig([]));
        await _h.Etcd.PutJsonAsync(EtcdKeys.NbdServerVdisks(other), new NbdServerVdisksConfig([_h.VdiskId]));
        try
        {
            var moved = await StartServeAsync(other);
            await CheckAfterOverwriteAsync(moved, _h.VdiskId);
            // Its own writes land at the new homes too, and survive its own restart.
            await NbdClients.QemuIoAsync(moved.Uri(_h.VdiskId), "write -P 0x33 0 512k");
            await moved.KillAsync();
            moved = await StartServeAsync(other);
            await NbdClients.QemuIoAsync(moved.Uri(_h.VdiskId), "read -P 0x33 0 512k", "read -P 0x22 512k 512k", "read -P 0 1M 1M", "read -P 0x11 2M 1M");
        }
        finally
        {
            await _h.Etcd.DeleteAsync(EtcdKeys.NbdServerVdisks(other));
        }
    }

    [Fact]
    public async Task A_server_killed_in_the_middle_of_the_respread_resumes_it_and_keeps_what_came_after()
    {
        // Paced (pages of 4 blocks, 256 KiB/s) so the kill lands in the middle whatever the machine's speed.
        var slow = new Dictionary<string, string> { ["Storage__RepairBatch"] = "4", ["Storage__RepairBytesPerSecond"] = "262144" };
        var serve = await StartServeAsync(_h.ServerId, slow);
        await NbdClients.QemuIoAsync(serve.Uri(_h.VdiskId), "write -P 0x11 0 4M");
        await LosePrimaryZeroForGoodAsync();
        var cursor = RedisKeys.RespreadCursor(_h.VdiskId, _h.Clusters.Primary[0].Address);
        var source = _h.Inspect(_h.Clusters.Slave[0]);
        await Eventually.UntilAsync(async () => await source.KeyExistsAsync(cursor), "the respread to store its cursor", TimeSpan.FromSeconds(60));
        await NbdClients.QemuIoAsync(serve.Uri(_h.VdiskId), "write -P 0x44 4M 256k"); // a write during the respread
        await serve.KillAsync();
        Assert.DoesNotContain(CompletionLine, serve.StderrLines);

        serve = await StartServeAsync(_h.ServerId);
        await serve.WaitForStderrAsync(CompletionLine, TimeSpan.FromSeconds(120));
        Assert.Contains(serve.StdoutLines, l => l.Contains("resumed at cursor"));
        await NbdClients.QemuIoAsync(serve.Uri(_h.VdiskId), "read -P 0x44 4M 256k");
        await OverwriteAndTrimAsync(serve, _h.VdiskId);

        await serve.KillAsync();
        serve = await StartServeAsync(_h.ServerId);
        await CheckAfterOverwriteAsync(serve, _h.VdiskId);
        await NbdClients.QemuIoAsync(serve.Uri(_h.VdiskId), "read -P 0x44 4M 256k");
    }
}
