using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.NbdHost.Tests.Failover;

/// <summary>
/// The dirty set is the truth, with real processes: writes B go degraded to the slave while a primary engine is
/// down, then <c>nbdhost serve</c> is SIGKILLed before anyone collected its failure line, so etcd still says
/// <c>online</c>. The engine comes back holding the older A; a new <c>serve</c> must read B (never A) and report the
/// engine, because its dirty set on the slave is not empty. The in-process counterpart is
/// <see cref="When_a_primary_engine_dies_during_writes.An_engine_etcd_calls_online_but_with_a_dirty_set_is_treated_as_failed"/>.
/// </summary>
public sealed class When_nbdhost_serve_is_killed_after_degraded_writes(ITestOutputHelper output) : ServeProcessTest(output)
{
    [Fact]
    public async Task The_restarted_server_reads_the_degraded_writes_and_reports_the_stale_engine()
    {
        var engine = H.Clusters.Primary[0];
        var failure = StderrLines.EngineFailure(engine.Address);
        await QemuIoAsync("write -P 0xaa 0 1M");
        await Task.Delay(1500); // appendfsync everysec: A is on the engine's disk before it dies
        await engine.KillAsync();
        await QemuIoAsync("write -P 0xbb 0 1M");
        Assert.Equal(128, await H.Inspect(H.Clusters.Slave[0]).SetLengthAsync(H.DirtyKey(engine))); // shard 0's blocks of 1 MiB

        await Serve.KillAsync();
        var first = Serve;
        await StopAndLogAsync(first, "first nbdhost serve (SIGKILLed)");
        var etcdState = (await H.Etcd.GetJsonAsync<StorageClusterConfig>(EtcdKeys.StorageClusterConfig(H.PrimaryClusterId)))!.Value.Servers[0].State;
        Assert.Equal(EngineState.Online, etcdState); // nobody told etcd
        await engine.RestartAsync();
        Assert.Equal(Enumerable.Repeat((byte)0xaa, H.BlockSize), (byte[]?)await H.Inspect(engine).HashGetAsync(H.BlocksKey, 0)); // it has A, not B

        Serve = await StartServeAsync();
        // The dead process's owner lease has to lapse before the vdisk is exported again (10 s lease, 10 s re-read).
        await Serve.WaitForStderrAsync(failure, TimeSpan.FromSeconds(60));
        await Serve.WaitForExportAsync(H.VdiskId, TimeSpan.FromSeconds(30));
        await QemuIoAsync("read -P 0xbb 0 1M");
        Assert.Equal([failure], Serve.StderrLines.Where(l => l.Contains("storageengine-failure", StringComparison.Ordinal)));
        Assert.Equal(128, await H.Inspect(H.Clusters.Slave[0]).SetLengthAsync(H.DirtyKey(engine)));
    }
}
