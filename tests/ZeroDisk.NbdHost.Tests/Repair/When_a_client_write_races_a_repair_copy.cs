namespace ZeroDisk.NbdHost.Tests.Repair;

/// <summary>
/// A repair copy and a client write of the same block, made to meet at the block's lock: whatever order they get
/// it in, the client's data is what both sides hold afterwards (a copy never overwrites a newer write).
/// </summary>
public sealed class When_a_client_write_races_a_repair_copy : StorageHarnessTest
{
    [Fact]
    public async Task The_client_write_wins()
    {
        var model = new VdiskModel(H.Vdisk, 8);
        await model.WriteAsync(0, 1);
        var engine = H.Clusters.Primary[0];
        await engine.KillAsync();
        await model.WriteAsync(0, 2); // dirty on the slave
        await engine.RestartAsync();
        await H.SetStateAsync(ClusterSide.Primary, 0, EngineState.Offline);

        // Hold block 0's lock: the repair's copy of block 0 queues on it first, then the client's write.
        var gate = H.Vdisk.Locks.For(0);
        await gate.WaitAsync();
        Task clientWrite;
        try
        {
            await H.SetStateAsync(ClusterSide.Primary, 0, EngineState.RepairTmpOutage);
            await StorageHarness.WaitUntilAsync(() => gate.CurrentCount == 0 && H.Logs.Lines.Any(l => l.Contains("repair tmp") && l.Contains("started")),
                TimeSpan.FromSeconds(10), "the repair to start");
            await Task.Delay(200); // the copy is now waiting on the lock
            clientWrite = model.WriteAsync(0, 3);
            await Task.Delay(100);
            Assert.False(clientWrite.IsCompleted);
        }
        finally
        {
            gate.Release();
        }
        await clientWrite;

        await H.Events.WaitForAsync($"{{\"type\": \"repair-tmp-outage-complete\", \"data\": {{\"address\": \"{engine.Address}\", \"vdiskid\": \"{H.VdiskId}\"}}}}", TimeSpan.FromSeconds(10));
        Assert.Equal(model.Expected(0), (byte[]?)await H.Inspect(engine).HashGetAsync(H.BlocksKey, 0));
        Assert.Equal(model.Expected(0), (byte[]?)await H.Inspect(H.Clusters.Slave[0]).HashGetAsync(H.BlocksKey, 0));
    }
}
