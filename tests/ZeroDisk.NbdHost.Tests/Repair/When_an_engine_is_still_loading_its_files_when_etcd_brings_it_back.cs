namespace ZeroDisk.NbdHost.Tests.Repair;

/// <summary>
/// An engine with a large dataset answers -LOADING for seconds (minutes in production) after a restart, and etcd may
/// bring it back (repair-tmp-outage) in that time. The server's identity check then met -LOADING and failed it again,
/// with nothing new to report (it was failed already) and nothing to restore it before etcd's next change, so its
/// repair waited on a failed target. The server now waits until the engine has loaded its files, then checks it.
/// </summary>
public sealed class When_an_engine_is_still_loading_its_files_when_etcd_brings_it_back(ITestOutputHelper output) : StorageHarnessTest(output)
{
    [Fact]
    public async Task It_is_checked_once_loaded_and_its_repair_completes()
    {
        var slave = H.Clusters.Slave[0];
        var model = new VdiskModel(H.Vdisk, 8);
        for (var i = 0; i < 8; i++) await model.WriteAsync(i, 1);
        await H.GiveALargeDatasetAsync(slave);

        await slave.KillAsync();
        for (var i = 0; i < 8; i++) await model.WriteAsync(i, 2);
        await H.SetStateAsync(ClusterSide.Slave, 0, EngineState.Offline);
        await slave.RestartLoadingSlowlyAsync(TimeSpan.FromMilliseconds(4)); // 12 s: longer than etcd's change waits for it
        await H.SetStateAsync(ClusterSide.Slave, 0, EngineState.RepairTmpOutage);
        Assert.True(await slave.IsLoadingAsync(), "etcd brought the slave back while it was still loading its files");

        await H.Events.WaitForAsync($"{{\"type\": \"repair-tmp-outage-complete\", \"data\": {{\"address\": \"{slave.Address}\", \"vdiskid\": \"{H.VdiskId}\"}}}}",
            TimeSpan.FromSeconds(30));
        Assert.Contains(H.Logs.Lines, l => l.Contains($"storage engine {slave.Address} is loading its files"));
        Assert.Equal(SlotUse.Serve, H.Vdisk.Topology.Slot(0, ClusterSide.Slave).Use);
        static IEnumerable<string> Hex(IEnumerable<(long Block, byte[] Content)> blocks) => blocks.Select(b => $"{b.Block}:{Convert.ToHexString(b.Content)}");
        Assert.Equal(Hex(await H.StoredBlocksAsync(H.Clusters.Primary[0])), Hex(await H.StoredBlocksAsync(slave)));
        Assert.Equal(model.ExpectedMd5(), await VdiskModel.Md5Async(H.Vdisk, model.Blocks));
    }
}
