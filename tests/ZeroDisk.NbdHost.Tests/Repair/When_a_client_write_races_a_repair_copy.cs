using ZeroDisk.Contracts;
using ZeroDisk.Storage;
using ZeroDisk.NbdHost.Tests.Harness;

namespace ZeroDisk.NbdHost.Tests.Repair;

/// <summary>
/// A repair copy and a client write of the same block, made to meet at the block's lock: whatever order they get
/// it in, the client's data is what both sides hold afterwards (a copy never overwrites a newer write).
/// </summary>
public sealed class When_a_client_write_races_a_repair_copy : IAsyncLifetime
{
    private StorageHarness _h = null!;

    public async Task InitializeAsync() => _h = await StorageHarness.StartAsync(shards: 2);

    public async Task DisposeAsync() => await _h.DisposeAsync();

    [Fact]
    public async Task The_client_write_wins()
    {
        var model = new VdiskModel(_h.Vdisk, 8);
        await model.WriteAsync(0, 1);
        var engine = _h.Clusters.Primary[0];
        await engine.KillAsync();
        await model.WriteAsync(0, 2); // dirty on the slave
        await engine.RestartAsync();
        await _h.SetStateAsync(ClusterSide.Primary, 0, EngineState.Offline);

        // Hold block 0's lock: the repair's copy of block 0 queues on it first, then the client's write.
        var gate = _h.Vdisk.Locks.For(0);
        await gate.WaitAsync();
        Task clientWrite;
        try
        {
            await _h.SetStateAsync(ClusterSide.Primary, 0, EngineState.RepairTmpOutage);
            await StorageHarness.WaitUntilAsync(() => gate.CurrentCount == 0 && _h.Logs.Lines.Any(l => l.Contains("repair tmp") && l.Contains("started")),
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

        await _h.Events.WaitForAsync($"{{\"type\": \"repair-tmp-outage-complete\", \"data\": {{\"address\": \"{engine.Address}\", \"vdiskid\": \"{_h.VdiskId}\"}}}}", TimeSpan.FromSeconds(10));
        Assert.Equal(model.Expected(0), (byte[]?)await _h.Inspect(engine).HashGetAsync(_h.BlocksKey, 0));
        Assert.Equal(model.Expected(0), (byte[]?)await _h.Inspect(_h.Clusters.Slave[0]).HashGetAsync(_h.BlocksKey, 0));
    }
}
