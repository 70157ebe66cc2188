namespace ZeroDisk.NbdHost.Tests.Failover;

/// <summary>
/// A server (re)starts while a crashed server's owner lease still holds the vdisk, and meanwhile the only side of a
/// shard etcd calls online dies (its twin is offline): the engine fails in this process before the vdisk is opened
/// here, so no vdisk saw it fail as the last complete side. Once it answers
/// again (restarted from its files, a new run_id) the shard serves from it by itself, as a fresh process that found
/// it up would: etcd calls it online, its twin is down, nothing holds more. Before, the shard answered EIO until an
/// operator acted, because the control plane refuses to take a shard's last serving side offline.
/// </summary>
public sealed class When_a_server_starts_while_the_only_side_of_a_shard_is_down(ITestOutputHelper output) : StorageHarnessTest(output)
{
    [Fact]
    public async Task The_shard_serves_from_it_once_it_answers()
    {
        var model = new VdiskModel(H.Vdisk, 8);
        for (var i = 0; i < 8; i++) await model.WriteAsync(i, 1);
        await H.StopServerAsync();
        var only = H.Clusters.Primary[1];
        await H.PutStateAsync(ClusterSide.Slave, 1, EngineState.Offline);

        // The crashed server's owner key lapses 4 s from now: the new server waits for it before opening the vdisk.
        await H.HoldVdiskElsewhereAsync("crashed-server", TimeSpan.FromSeconds(4));
        await H.StartServerAsync();
        await only.KillAsync();
        await only.RestartAsync();
        await Eventually.TrueAsync(() => H.Catalog.Find(H.VdiskId) is not null, TimeSpan.FromSeconds(60), "the vdisk to be opened once the old owner key lapsed");

        await Eventually.TrueAsync(() => H.Vdisk.Topology.Slot(1, ClusterSide.Primary).Use == SlotUse.Serve, TimeSpan.FromSeconds(30),
            "the only side of shard 1 to serve again");
        Assert.Equal(model.ExpectedMd5(), await VdiskModel.Md5Async(H.Vdisk, 8));
        Assert.Contains(H.Logs.Lines, l => l.Contains($"storage engine {only.Address} answers again") && l.Contains("serves again without a repair"));
    }
}
