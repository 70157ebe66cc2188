using StackExchange.Redis;
using ZeroDisk.ServiceDefaults.Engines;

namespace ZeroDisk.NbdHost.Tests.Storage;

/// <summary>
/// The per-engine write combiner against a real redis-server: concurrent fenced block writes share calls,
/// every write lands (deletes and twin dirty marks included), and a call the engine rejects fails every write in it.
/// </summary>
public sealed class When_block_writes_are_group_committed : IAsyncLifetime
{
    private const int BlockSize = 4096;
    private const string VdiskId = "combiner-vd";
    private SingleEngine _engine = null!;
    private readonly RedisKey _twinDirty = RedisKeys.DirtyBlocks(VdiskId, "127.0.0.1:1");

    public async Task InitializeAsync() => _engine = await SingleEngine.StartAsync(VdiskId, "combiner-engine", EngineState.Online, ClusterSide.Primary);

    public async Task DisposeAsync() => await _engine.DisposeAsync();

    private EngineSlot Slot => _engine.Slot;

    private IDatabase Db => _engine.Db;

    [Fact]
    public async Task Many_concurrent_writes_take_far_fewer_calls_and_all_land()
    {
        const int writes = 1000;
        var fence = new EngineFence(VdiskId, epoch: 3);
        await Db.HashSetAsync(RedisKeys.Blocks(VdiskId), [.. Enumerable.Range(0, writes).Where(b => b % 10 == 0).Select(b => new HashEntry(b, "old"))]);
        await _engine.ResetCommandStatsAsync();

        // Every tenth block is all zeroes (a delete of what was there); every seventh marks the twin dirty.
        await Task.WhenAll(Enumerable.Range(0, writes).Select(b => fence.WriteBlockAsync(Slot, b,
            b % 10 == 0 ? ReadOnlyMemory<byte>.Empty : TestBlocks.Content(b, BlockSize), b % 7 == 0 ? _twinDirty : (RedisKey?)null)));

        // Calls of the script, or transactions for the calls large enough to skip it.
        var calls = await _engine.ScriptCallsAsync() + (await _engine.CommandCallsAsync()).GetValueOrDefault("exec");
        Assert.InRange(calls, 1, writes / 8);
        var stored = (await Db.HashGetAllAsync(RedisKeys.Blocks(VdiskId))).ToDictionary(e => (long)e.Name, e => (byte[])e.Value!);
        Assert.Equal(writes - writes / 10, stored.Count);
        for (var b = 0; b < writes; b++)
        {
            if (b % 10 == 0) Assert.False(stored.ContainsKey(b), $"block {b} should be deleted");
            else Assert.Equal(TestBlocks.Content(b, BlockSize), stored[b]);
        }
        var dirty = (await Db.SetMembersAsync(_twinDirty)).Select(m => (long)m).Order();
        Assert.Equal(Enumerable.Range(0, writes).Where(b => b % 7 == 0).Select(b => (long)b), dirty);
        Assert.Equal("3", await Db.StringGetAsync(RedisKeys.Fence(VdiskId))); // raised on the way, as a single write did
    }

    [Fact]
    public async Task A_single_write_goes_out_alone_without_waiting()
    {
        var fence = new EngineFence(VdiskId, epoch: 1);
        await _engine.ResetCommandStatsAsync();
        for (var b = 0; b < 5; b++) await fence.WriteBlockAsync(Slot, b, TestBlocks.Content(b, BlockSize));
        Assert.Equal(5L, await _engine.ScriptCallsAsync());
    }

    [Fact]
    public async Task A_fenced_call_fails_every_write_in_it_and_writes_nothing()
    {
        await Db.StringSetAsync(RedisKeys.Fence(VdiskId), 9);
        var fence = new EngineFence(VdiskId, epoch: 5);
        string? reason = null;
        fence.Tripped += r => reason = r;

        var writes = Enumerable.Range(0, 300).Select(b => fence.WriteBlockAsync(Slot, b, TestBlocks.Content(b, BlockSize))).ToArray();
        await Assert.ThrowsAnyAsync<Exception>(() => Task.WhenAll(writes));

        Assert.All(writes, w => Assert.IsType<StorageIoException>(w.Exception!.InnerException));
        Assert.True(fence.IsTripped);
        Assert.Contains("FENCED", reason);
        Assert.Equal(0, await Db.HashLengthAsync(RedisKeys.Blocks(VdiskId)));
    }

    [Fact]
    public async Task A_call_to_an_engine_that_lost_its_identity_fails_every_write_as_an_engine_failure()
    {
        await Db.StringSetAsync(EngineIdentity.RedisKey, "new-disk");
        Slot.Engine.ExpectedIdentity = "old-disk";
        var fence = new EngineFence(VdiskId, epoch: 1);

        var writes = Enumerable.Range(0, 300).Select(b => fence.WriteBlockAsync(Slot, b, TestBlocks.Content(b, BlockSize))).ToArray();
        await Assert.ThrowsAnyAsync<Exception>(() => Task.WhenAll(writes));

        Assert.All(writes, w => Assert.True(StorageEngines.IsEngineFailure(w.Exception!.InnerException!), w.Exception.InnerException!.Message));
        Assert.False(fence.IsTripped);
        Assert.Equal(0, await Db.HashLengthAsync(RedisKeys.Blocks(VdiskId)));
    }

    [Fact]
    public async Task Writes_to_a_dead_engine_all_fail_as_engine_failures()
    {
        var fence = new EngineFence(VdiskId, epoch: 1);
        await fence.WriteBlockAsync(Slot, 0, TestBlocks.Content(0, BlockSize)); // connected and the script loaded
        await _engine.Redis.KillAsync();

        var writes = Enumerable.Range(0, 300).Select(b => fence.WriteBlockAsync(Slot, b, TestBlocks.Content(b, BlockSize))).ToArray();
        await Assert.ThrowsAnyAsync<Exception>(() => Task.WhenAll(writes));

        Assert.All(writes, w => Assert.True(StorageEngines.IsEngineFailure(w.Exception!.InnerException!), w.Exception.InnerException!.ToString()));
    }
}
