namespace ZeroDisk.NbdHost.Tests.Repair;

/// <summary>
/// A torn mirrored write (<see cref="TornWrite"/>) that the takeover cannot see: the slave holds a write the primary
/// never got, and the slave stalls (SIGSTOP) before the next owner opens the vdisk, so its window cannot be read and
/// it is failed over. The primary's window does not name the block, so no dirty mark does either. When the slave
/// returns and is repaired, its repair must first compare its own recent-write window with the primary and repair
/// what differs; otherwise the two sides keep different contents after the repair.
/// </summary>
public sealed class When_a_returning_engine_holds_a_write_its_twin_lacks(ITestOutputHelper output) : StorageHarnessTest(output)
{
    protected override StorageOptions? Options => TornWrite.ServerOptions;

    [Fact]
    public async Task Its_repair_gives_it_its_twins_content_of_that_block()
    {
        var first = H.Vdisk;
        var slave = H.Clusters.Slave[0];
        var torn = await TornWrite.MakeAsync(H, missing: ClusterSide.Primary, Output, whileFenced: slave.FreezeAsync);
        try
        {
            await TornWrite.ClaimedAgainAsync(H, first);
            await StorageHarness.WaitUntilAsync(() => H.Vdisk.Topology.Slot(0, ClusterSide.Slave).Use == SlotUse.Stale, TimeSpan.FromSeconds(30),
                "the stalled slave failed over");
        }
        finally
        {
            await slave.ContinueAsync();
        }
        // What this test is about: nothing the takeover could read names the block.
        Assert.Contains(torn, await TornWrite.DifferingBlocksAsync(H));
        Assert.False(await H.Inspect(H.Clusters.Primary[0]).SetContainsAsync(H.DirtyKey(slave), torn), $"block {torn} marked dirty for the slave before its repair");

        await H.SetStateAsync(ClusterSide.Slave, 0, EngineState.Offline);
        await H.SetStateAsync(ClusterSide.Slave, 0, EngineState.RepairTmpOutage);
        await H.Events.WaitForAsync($"{{\"type\": \"repair-tmp-outage-complete\", \"data\": {{\"address\": \"{slave.Address}\", \"vdiskid\": \"{H.VdiskId}\"}}}}",
            TimeSpan.FromSeconds(60));
        var differing = await TornWrite.DifferingBlocksAsync(H);
        Assert.True(differing.Count == 0, $"primary and slave differ in block(s) {string.Join(' ', differing)} after the slave's repair");
        Assert.Contains(H.Logs.Lines, l => l.Contains("own recent-write window differ", StringComparison.Ordinal));
    }
}
