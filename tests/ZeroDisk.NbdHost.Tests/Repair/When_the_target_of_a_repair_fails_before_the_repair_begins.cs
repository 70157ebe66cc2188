namespace ZeroDisk.NbdHost.Tests.Repair;

/// <summary>
/// Fault-checker seed 2003: an engine failed (out of memory), was classified temporary and put into repair; it was
/// killed while that repair was being set up. Its new failure was reported before etcd said repair-tmp-outage, so
/// ClusterState judged the report older than the repair and ignored it, and the server's repair waited for good on
/// "failed again? — waiting for etcd". A repair whose target is failed here reports it again while etcd repairs it.
/// </summary>
public sealed class When_the_target_of_a_repair_fails_before_the_repair_begins(ITestOutputHelper output) : StorageHarnessTest(output)
{
    [Fact]
    public async Task Seed_2003_the_failure_is_reported_again_while_etcd_repairs_the_engine()
    {
        var slave = H.Clusters.Slave[0];
        var model = new VdiskModel(H.Vdisk, 8);
        for (var i = 0; i < 8; i++) await model.WriteAsync(i, 1);
        var failure = $"{{\"type\": \"storageengine-failure\", \"data\": \"{slave.Address}\"}}";

        await slave.KillAsync();
        await model.WriteAsync(1, 2);
        await Eventually.TrueAsync(() => H.Events.Lines.Count(l => l == failure) == 1, TimeSpan.FromSeconds(10), "the slave's failure reported");

        // etcd repairs it only now, and hears nothing more from anyone else.
        await H.SetStateAsync(ClusterSide.Slave, 0, EngineState.RepairTmpOutage);
        await Eventually.TrueAsync(() => H.Events.Lines.Count(l => l == failure) >= 2, TimeSpan.FromSeconds(30), "the slave's failure reported again");
        Assert.Contains(H.Logs.Lines, l => l.Contains($"storage engine {slave.Address} is still failed here") && l.Contains("failed again here"));
    }
}
