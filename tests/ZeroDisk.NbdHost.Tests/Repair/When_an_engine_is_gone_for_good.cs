namespace ZeroDisk.NbdHost.Tests.Repair;

/// <summary>
/// repair-final-outage then rip: every block of the dead shard moves to its new home by
/// <see cref="ShardPlacement"/> (on primary and slave), the completion line is printed, and the vdisk reads intact.
/// </summary>
public sealed class When_an_engine_is_gone_for_good : StorageHarnessTest
{
    private const int Blocks = 300;
    protected override int Shards => 3;

    [Fact]
    public async Task The_dead_shard_is_respread_and_every_block_reads_back()
    {
        var model = new VdiskModel(H.Vdisk, Blocks);
        for (var i = 0; i < Blocks; i++) await model.WriteAsync(i, 1);
        var dead = H.Clusters.Primary[0];
        await dead.KillAsync();
        for (var i = 0; i < 60; i += 3) await model.WriteAsync(i, 2);
        await model.ZeroAsync(99); // shard 0: a delete while the engine is down

        await H.SetStateAsync(ClusterSide.Primary, 0, EngineState.Offline);
        await H.SetStateAsync(ClusterSide.Primary, 0, EngineState.RepairFinalOutage);
        await H.Events.WaitForAsync($"{{\"type\": \"repair-final-outage-complete\", \"data\": {{\"address\": \"{dead.Address}\", \"vdiskid\": \"{H.VdiskId}\"}}}}", TimeSpan.FromSeconds(30));

        var rip = new[] { true, false, false };
        for (long b = 0; b < Blocks; b += Shards)
        {
            var home = ShardPlacement.ShardOf(b, rip);
            Assert.NotEqual(0, home);
            foreach (var side in new[] { ClusterSide.Primary, ClusterSide.Slave })
                Assert.Equal(model.Expected(b), (byte[]?)await H.Inspect(H.Engines(side)[home]).HashGetAsync(H.BlocksKey, b));
        }
        Assert.Equal(model.ExpectedMd5(), await VdiskModel.Md5Async(H.Vdisk, Blocks));

        // Writes after the respread go to the new homes only; the old surviving side is no longer used.
        await model.WriteAsync(3, 3);
        var newHome = ShardPlacement.ShardOf(3, rip);
        Assert.Equal(model.Expected(3), (byte[]?)await H.Inspect(H.Clusters.Slave[newHome]).HashGetAsync(H.BlocksKey, 3));
        Assert.NotEqual(model.Expected(3), (byte[]?)await H.Inspect(H.Clusters.Slave[0]).HashGetAsync(H.BlocksKey, 3));

        await H.SetStateAsync(ClusterSide.Primary, 0, EngineState.Rip);
        await H.SetStateAsync(ClusterSide.Slave, 0, EngineState.Rip);
        await H.Clusters.Slave[0].KillAsync(); // the twin of a rip engine is never read again
        Assert.Equal(model.ExpectedMd5(), await VdiskModel.Md5Async(H.Vdisk, Blocks));

        // A fresh server process computes the same placement from etcd alone.
        await H.RestartServerAsync();
        Assert.Equal(model.ExpectedMd5(), await VdiskModel.Md5Async(H.Vdisk, Blocks));
    }
}
