namespace ZeroDisk.NbdHost.Tests.Failover;

/// <summary>
/// A fresh process sees only durable truth, with real processes: one host loses power, so <c>nbdhost serve</c> and a
/// primary engine are SIGKILLed together right after writes both sides acknowledged; the engine comes back without
/// them (restarted from a copy of its files taken before them: new run_id, old data). The recent-write window of the
/// dead server is gone with it, and nobody reported the engine. The new owner (after the lease lapsed) finds the
/// engine's run_id differs from the one the last owner verified (recorded on its twin), fails it, and puts the twin's
/// durable recent-write window into its dirty set: reads return the acknowledged data (overwrites and trims), and the
/// tmp repair puts it back on the primary, trims as deletes.
/// </summary>
public sealed class When_serve_and_its_primary_die_together(ITestOutputHelper output) : ServeProcessTest(output)
{
    protected override IReadOnlyDictionary<string, string>? ServeEnvironment => ShortOwnerLease;

    [Fact]
    public async Task The_new_owner_serves_the_acknowledged_writes_and_the_repair_restores_them_on_the_primary()
    {
        var primary = H.Clusters.Primary[0];
        var slave = H.Clusters.Slave[0];
        await QemuIoAsync("write -P 0x01 0 256k"); // blocks 0-63
        await Task.Delay(1500); // on the engine's disk before the copy
        var beforeLastWrites = primary.SnapshotDirectory();

        // The last writes, acknowledged by both sides: an overwrite of blocks 0-15 and a trim of blocks 32-47.
        await QemuIoAsync("write -P 0x02 0 64k", "discard 128k 64k");
        Assert.Equal(Enumerable.Repeat((byte)0x02, H.BlockSize), (byte[]?)await H.Inspect(primary).HashGetAsync(H.BlocksKey, 0));
        Assert.False(await H.Inspect(primary).HashExistsAsync(H.BlocksKey, 32));

        // Power loss: the server and the primary die together; the primary returns without its last writes.
        await Serve.KillAsync();
        await primary.RestartFromSnapshotAsync(beforeLastWrites);
        Assert.Equal(Enumerable.Repeat((byte)0x01, H.BlockSize), (byte[]?)await H.Inspect(primary).HashGetAsync(H.BlocksKey, 0));
        Assert.True(await H.Inspect(primary).HashExistsAsync(H.BlocksKey, 32));
        var first = Serve;
        await StopAndLogAsync(first, "first nbdhost serve (SIGKILLed with the primary)");

        Serve = await StartServeAsync();
        await Serve.WaitForExportAsync(H.VdiskId, TimeSpan.FromSeconds(60));
        await Serve.WaitForStderrAsync(StderrLines.EngineFailure(primary.Address), TimeSpan.FromSeconds(30));
        await QemuIoAsync("read -P 0x02 0 64k", "read -P 0x01 64k 64k", "read -P 0 128k 64k", "read -P 0x01 192k 64k");
        var dirty = (await H.Inspect(slave).SetMembersAsync(H.DirtyKey(primary))).Select(v => (long)v).ToHashSet();
        Output.WriteLine($"dirty set of the primary on the slave after the takeover: {dirty.Count} blocks: {string.Join(' ', dirty.Order())}");
        Assert.Superset(Enumerable.Range(0, 48).Where(b => b % 2 == 0 && (b < 16 || b >= 32)).Select(b => (long)b).ToHashSet(), dirty);

        // What ClusterState does with the report: offline, then repair-tmp-outage; the server repairs the primary.
        await H.PutStateAsync(ClusterSide.Primary, 0, EngineState.Offline);
        await H.PutStateAsync(ClusterSide.Primary, 0, EngineState.RepairTmpOutage);
        await Serve.WaitForStderrAsync(StderrLines.TmpRepairComplete(primary.Address, H.VdiskId), TimeSpan.FromSeconds(60));
        for (long b = 0; b < 64; b += 2)
        {
            var stored = (byte[]?)await H.Inspect(primary).HashGetAsync(H.BlocksKey, b);
            if (b is >= 32 and < 48) Assert.Null(stored);
            else Assert.Equal(Enumerable.Repeat(b < 16 ? (byte)0x02 : (byte)0x01, H.BlockSize), stored);
        }
        await QemuIoAsync("read -P 0x02 0 64k", "read -P 0x01 64k 64k", "read -P 0 128k 64k", "read -P 0x01 192k 64k");
    }
}
