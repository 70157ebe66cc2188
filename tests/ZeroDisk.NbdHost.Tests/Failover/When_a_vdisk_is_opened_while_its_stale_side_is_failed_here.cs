namespace ZeroDisk.NbdHost.Tests.Failover;

/// <summary>
/// Fault-checker seed 2042: a primary missed writes (its dirty set on the slave says which) and its failure report was
/// refused, rightly, while the slave was down; etcd kept it online. When the slave was repaired and online again,
/// the server's vdisks were fenced out; they were opened again with the slave online already, and nothing ever reported
/// the primary again: every engine online, no repair, and a dirty set nobody acted on. A vdisk opened with a side
/// failed here, whose twin records blocks it missed and which etcd calls online beside an online twin, reports it again.
/// </summary>
public sealed class When_a_vdisk_is_opened_while_its_stale_side_is_failed_here(ITestOutputHelper output) : StorageHarnessTest(output)
{
    [Fact]
    public async Task Seed_2042_the_stale_side_is_reported_again()
    {
        var (primary, slave) = (H.Clusters.Primary[0], H.Clusters.Slave[0]);
        var model = new VdiskModel(H.Vdisk, 8);
        for (var i = 0; i < 8; i++) await model.WriteAsync(i, 1);
        await primary.KillAsync();
        for (var i = 0; i < 8; i++) await model.WriteAsync(i, 2);
        Assert.True(await H.Inspect(slave).SetLengthAsync(H.DirtyKey(primary)) > 0);
        await primary.RestartAsync();
        await H.StopServerAsync();

        // A server whose vdisk is held by another owner for 4 s: the primary fails in it before the vdisk is opened.
        await H.HoldVdiskElsewhereAsync("other-server", TimeSpan.FromSeconds(4));
        var failure = $"{{\"type\": \"storageengine-failure\", \"data\": \"{primary.Address}\"}}";
        var reported = H.Events.Lines.Count(l => l == failure) + 1;
        await H.StartServerAsync();
        await primary.KillAsync();
        await Eventually.TrueAsync(() => H.Events.Lines.Count(l => l == failure) == reported, TimeSpan.FromSeconds(10), "the primary's failure reported");
        await primary.RestartAsync();
        await Eventually.TrueAsync(() => H.Catalog.Find(H.VdiskId) is not null, TimeSpan.FromSeconds(60), "the vdisk to be opened once the other owner's key lapsed");

        await Eventually.TrueAsync(() => H.Events.Lines.Count(l => l == failure) > reported, TimeSpan.FromSeconds(10), "the primary's failure reported again");
        Assert.Equal(SlotUse.Stale, H.Vdisk.Topology.Slot(0, ClusterSide.Primary).Use);
        Assert.Equal(model.ExpectedMd5(), await VdiskModel.Md5Async(H.Vdisk, 8));
    }
}
