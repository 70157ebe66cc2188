namespace ZeroDisk.NbdHost.Tests.Failover;

/// <summary>
/// Fault-checker seed 2045: the primary of a shard missed writes (its dirty set on the slave says which), the server
/// was killed, and etcd, hearing the failure reports in the wrong order, had made the slave — the complete side — a
/// repair target while the primary stayed online. The fresh server found the primary's dirty set and failed it, but
/// with the slave not serving (and unable to complete without a copy: it had restarted too, so the fresh server had
/// recorded the last writes as missed by it) it took the primary for the shard's last complete side and healed it; the slave was then
/// "repaired" from it, and both sides held data older than acknowledged writes. A side whose twin records blocks it
/// missed is never healed as the last complete side.
/// </summary>
public sealed class When_a_fresh_server_finds_the_stale_side_online_and_the_complete_one_in_repair(ITestOutputHelper output) : StorageHarnessTest(output)
{
    [Fact]
    public async Task Seed_2045_the_stale_side_never_serves_and_no_block_reads_older_than_acknowledged()
    {
        var (primary, slave) = (H.Clusters.Primary[0], H.Clusters.Slave[0]);
        var model = new VdiskModel(H.Vdisk, 8);
        for (var i = 0; i < 8; i++) await model.WriteAsync(i, 1);
        // The primary stalls (same run_id after): the writes meanwhile go to the slave, and the primary's dirty set on it.
        var stall = H.Inspect(primary).ExecuteAsync("DEBUG", "SLEEP", "4");
        for (var i = 0; i < 8; i++) await model.WriteAsync(i, 2);
        await stall;
        Assert.True(await H.Inspect(slave).SetLengthAsync(H.DirtyKey(primary)) > 0);

        // The server dies, and the slave restarts (from its files) too: the fresh server cannot know it lost nothing, so it
        // records the last writes as missed by it, on the primary. etcd's decision, made from the reports in the wrong order.
        await H.StopServerAsync();
        await slave.KillAsync();
        await slave.RestartAsync();
        await H.PutStateAsync(ClusterSide.Slave, 0, EngineState.RepairTmpOutage);
        await H.StartServerAsync();

        // Whatever the fresh server decides, give it the time a heal and a repair take.
        await Task.Delay(TimeSpan.FromSeconds(5));
        Assert.NotEqual(SlotUse.Serve, H.Vdisk.Topology.Slot(0, ClusterSide.Primary).Use);
        Assert.DoesNotContain(H.Logs.Lines, l => l.Contains($"storage engine {primary.Address} answers again") && l.Contains("serves again"));
        for (var block = 0; block < model.Blocks; block++)
        {
            if (H.Vdisk.Topology.ShardOf(block) != 0) continue;
            Assert.Equal(Convert.ToHexString(model.Expected(block)!), Convert.ToHexString(((byte[]?)await H.Inspect(slave).HashGetAsync(H.BlocksKey, block))!));
            var back = new byte[H.BlockSize];
            try
            {
                await H.Vdisk.ReadAsync(block * H.BlockSize, back, default);
            }
            catch (StorageIoException)
            {
                continue; // no side may serve it yet: an error, never older data
            }
            Assert.Equal(Convert.ToHexString(model.Expected(block)!), Convert.ToHexString(back));
        }
    }
}
