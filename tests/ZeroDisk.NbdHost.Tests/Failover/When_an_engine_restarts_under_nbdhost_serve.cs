using StackExchange.Redis;

namespace ZeroDisk.NbdHost.Tests.Failover;

/// <summary>
/// Durability of engines: an engine that restarted (SIGKILL, then redis-server again on the same data, a new
/// run_id) answers again and the client reconnects to it, but it may have lost its last second: it stays failed,
/// is reported once, and the writes of its shard go to the twin with the blocks recorded dirty for it.
/// </summary>
public sealed class When_an_engine_restarts_under_nbdhost_serve(ITestOutputHelper output) : ServeProcessTest(output)
{
    [Fact]
    public async Task The_reconnected_engine_stays_failed_and_its_writes_go_dirty_on_the_twin()
    {
        var uri = Serve.Uri(H.VdiskId);
        var restarted = H.Clusters.Primary[0];
        var twin = H.Clusters.Slave[0];
        await NbdClients.QemuIoAsync(uri, "write -P 0x21 0 4k");

        await restarted.KillAsync();
        await restarted.RestartAsync();
        // The server's client reconnects by itself (no I/O needed): wait until it is connected again.
        await Eventually.UntilAsync(async () => ((string?)await H.Inspect(restarted).ExecuteAsync("CLIENT", "LIST"))?.Contains("name=nbdhost") == true,
            "nbdhost serve reconnected to the restarted engine");
        await Eventually.TrueAsync(() => Serve.Output.Contains("run_id"), TimeSpan.FromSeconds(10), "the server noticed the new run_id");

        await NbdClients.QemuIoAsync(uri, "write -P 0x22 0 4k", "read -P 0x22 0 4k");

        var failure = $"{{\"type\": \"storageengine-failure\", \"data\": \"{restarted.Address}\"}}";
        Assert.Equal([failure], Serve.StderrLines.Where(l => l.Contains("storageengine-failure", StringComparison.Ordinal)));
        Assert.Contains(0L, (await H.Inspect(twin).SetMembersAsync(H.DirtyKey(restarted))).Select(m => (long)m));
        Assert.Equal(Enumerable.Repeat((byte)0x22, 4096), (byte[]?)await H.Inspect(twin).HashGetAsync(H.BlocksKey, 0));
        // The restarted engine did not get the new write (the old one it may have kept or lost: appendfsync everysec).
        Assert.NotEqual(Enumerable.Repeat((byte)0x22, 4096), (byte[]?)await H.Inspect(restarted).HashGetAsync(H.BlocksKey, 0) ?? []);
    }
}
