namespace ZeroDisk.NbdHost.Tests.Repair;

/// <summary>
/// Durability of engines, for repair copies: a slave engine is repaired (its dirty set emptied), then crashes at once
/// and comes back without the copies (restarted from its data as it was before the repair: what appendfsync
/// everysec may lose). The copied blocks were in the recent-write window, so the failure marks them dirty again and
/// the next repair restores them; without that, the slave would silently keep the old data of those blocks.
/// </summary>
public sealed class When_a_repaired_engine_loses_its_last_second(ITestOutputHelper output) : StorageHarnessTest(output)
{
    private const int Blocks = 64;
    // A window long enough that the repair, the crash and its detection all fall inside it on a busy machine.
    protected override StorageOptions Options => StorageHarness.TestStorageOptions with { RecentWriteWindow = TimeSpan.FromSeconds(8) };

    [Fact]
    public async Task The_copies_it_lost_are_dirty_again_and_repaired_again()
    {
        var model = new VdiskModel(H.Vdisk, Blocks);
        for (var i = 0; i < Blocks; i++) await model.WriteAsync(i, 1);
        var slave = H.Clusters.Slave[0];
        var primary = H.Clusters.Primary[0];

        // Outage: the even blocks (shard 0) change while the slave is down; then they age out of the window.
        await slave.KillAsync();
        long[] changed = [.. Enumerable.Range(0, Blocks / 2).Select(i => 2L * i)];
        foreach (var b in changed) await model.WriteAsync(b, 2);
        await Task.Delay(H.Options.RecentWriteWindow + TimeSpan.FromMilliseconds(300));
        await slave.RestartAsync();
        var beforeRepair = slave.SnapshotDirectory();
        Assert.Equal(changed.Length, await H.Inspect(primary).SetLengthAsync(H.DirtyKey(slave)));

        await H.SetStateAsync(ClusterSide.Slave, 0, EngineState.Offline);
        await H.SetStateAsync(ClusterSide.Slave, 0, EngineState.RepairTmpOutage);
        await WaitForRepairAsync(1);
        Assert.Equal(0, await H.Inspect(primary).SetLengthAsync(H.DirtyKey(slave)));

        // The slave crashes right after, losing the copies; the next write to shard 0 finds it failed.
        await slave.RestartFromSnapshotAsync(beforeRepair);
        foreach (var b in changed.Take(1)) Assert.Equal(TestBlocks.Content(b, H.BlockSize, 1), (byte[]?)await H.Inspect(slave).HashGetAsync(H.BlocksKey, b));
        await model.WriteAsync(changed[^1], 3);
        var dirty = new HashSet<long>();
        await StorageHarness.WaitUntilAsync(() =>
        {
            dirty = H.Inspect(primary).SetMembers(H.DirtyKey(slave)).Select(v => (long)v).ToHashSet();
            return dirty.IsSupersetOf(changed);
        }, TimeSpan.FromSeconds(10), "every block the repair copied back in the slave's dirty set");
        Output.WriteLine($"dirty set of the slave after its second failure: {dirty.Count} blocks");

        await H.SetStateAsync(ClusterSide.Slave, 0, EngineState.Offline);
        await H.SetStateAsync(ClusterSide.Slave, 0, EngineState.RepairTmpOutage);
        await WaitForRepairAsync(2);

        // The vdisk as the slave side alone holds it.
        Assert.Equal(model.ExpectedMd5(), await H.SideMd5Async(ClusterSide.Slave, Blocks));
    }

    private Task WaitForRepairAsync(int count) =>
        StorageHarness.WaitUntilAsync(() => H.Events.Lines.Count(l => l.Contains("repair-tmp-outage-complete", StringComparison.Ordinal)) >= count,
            TimeSpan.FromSeconds(30), $"repair-tmp-outage-complete #{count}");
}
