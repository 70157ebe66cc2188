using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.NbdHost.Tests.Serving;

/// <summary>
/// Found by the fault-schedule checker (seed 12): a server keeps its connections to engines after the vdisk that used
/// them is taken off its list (a repair-only job took the vdisk for a while). Both engines of one shard dropped those
/// connections meanwhile — restarts, a network blip — so the server marked them failed; etcd brought them back, but
/// the server watched no vdisk of theirs and never saw it. When the vdisk came back to the server, it answered EIO for
/// that shard for good. A server must take engines it did not use as a fresh process would: usable once etcd says so
/// and their identity checks out.
/// </summary>
public sealed class When_a_vdisk_returns_after_its_engines_failed_unused(ITestOutputHelper output) : ServeProcessTest(output)
{
    [Fact]
    public async Task The_returned_vdisk_reads_and_writes_both_sides_of_the_shard()
    {
        await QemuIoAsync("write -P 0x11 0 64k");
        await H.Etcd.PutJsonAsync(EtcdKeys.NbdServerVdisks(H.ServerId), new NbdServerVdisksConfig([]));
        await Eventually.UntilAsync(async () => await H.OwnerAsync() is null, "the de-listed vdisk's owner key was released", TimeSpan.FromSeconds(60));

        var shard1 = new[] { H.Clusters.Primary[1], H.Clusters.Slave[1] };
        foreach (var engine in shard1)
        {
            var killed = await KillServerConnectionsAsync(engine);
            Assert.True(killed > 0, $"the server kept a connection to {engine.Address}");
        }
        foreach (var engine in shard1)
            await Eventually.TrueAsync(() => Serve.Output.Contains($"storage engine {engine.Address} failed", StringComparison.Ordinal),
                TimeSpan.FromSeconds(30), $"the server saw its connection to {engine.Address} drop");

        await H.Etcd.PutJsonAsync(EtcdKeys.NbdServerVdisks(H.ServerId), new NbdServerVdisksConfig([H.VdiskId]));
        await Serve.WaitForExportAsync(H.VdiskId, TimeSpan.FromSeconds(60));

        await QemuIoAsync("read -P 0x11 0 64k", "write -P 0x22 0 64k", "read -P 0x22 0 64k");
        for (var block = 1L; block < 16; block += 2)
            foreach (var engine in shard1)
            {
                var stored = (byte[]?)await H.Inspect(engine).HashGetAsync(H.BlocksKey, block);
                Assert.True(stored is not null && stored.All(b => b == 0x22), $"block {block} was written to {engine.Address} as well");
            }
        Assert.DoesNotContain("no complete side of it answers", Serve.Output, StringComparison.Ordinal);
    }

    /// <summary>Drops the server's connections to <paramref name="engine"/> (CLIENT KILL by id), as a network blip would.</summary>
    private async Task<int> KillServerConnectionsAsync(RedisServerProcess engine)
    {
        var db = H.Inspect(engine);
        var clients = ((string?)await db.ExecuteAsync("CLIENT", "LIST"))!.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var killed = 0;
        foreach (var fields in clients.Select(c => c.Split(' ')))
        {
            if (!fields.Contains("name=nbdhost")) continue;
            var id = fields.First(f => f.StartsWith("id=", StringComparison.Ordinal))[3..];
            killed += (int)await db.ExecuteAsync("CLIENT", "KILL", "ID", id);
        }
        return killed;
    }
}
