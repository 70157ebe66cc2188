using StackExchange.Redis;
using ZeroDisk.ServiceDefaults.Engines;

namespace ZeroDisk.NbdHost.Tests.Storage;

/// <summary>
/// Client writes whose group-commit call reaches <see cref="EngineWriteCombiner.WatchedFromBytes"/>, against a real
/// redis-server: they go as transactions behind WATCH of the fence and the identity marker, not through the script,
/// with the script's effects (blocks set and deleted, twin dirty marks, recent-write entries, a lower fence raised)
/// and its refusals (a higher fence trips this one, a lost identity is an engine failure, nothing written either way).
/// </summary>
public sealed class When_large_block_writes_are_group_committed : IAsyncLifetime
{
    private const int BlockSize = EngineWriteCombiner.WatchedFromBytes; // one block is a large call already
    private const string VdiskId = "large-vd";
    private const string Identity = "large-engine";
    private SingleEngine _engine = null!;
    private readonly RedisKey _twinDirty = RedisKeys.DirtyBlocks(VdiskId, "127.0.0.1:1");

    public async Task InitializeAsync() => _engine = await SingleEngine.StartAsync(VdiskId, Identity, EngineState.Online, ClusterSide.Primary);

    public async Task DisposeAsync() => await _engine.DisposeAsync();

    private EngineSlot Slot => _engine.Slot;

    private IDatabase Db => _engine.Db;

    /// <summary>Block <paramref name="b"/>'s write: every fifth all zeroes (a delete), the rest with content.</summary>
    private static ReadOnlyMemory<byte> Content(int b) => b % 5 == 0 ? ReadOnlyMemory<byte>.Empty : TestBlocks.Content(b, BlockSize);

    [Fact]
    public async Task They_land_whole_with_their_marks_without_the_script()
    {
        const int writes = 40;
        await Db.StringSetAsync(RedisKeys.Fence(VdiskId), 2);
        await Db.HashSetAsync(RedisKeys.Blocks(VdiskId), [.. Enumerable.Range(0, writes).Where(b => b % 5 == 0).Select(b => new HashEntry(b, "old"))]);
        await _engine.ResetCommandStatsAsync();
        var fence = new EngineFence(VdiskId, epoch: 3);

        // Every third write marks the twin dirty.
        await Task.WhenAll(Enumerable.Range(0, writes).Select(b => fence.WriteBlockAsync(Slot, b, Content(b), b % 3 == 0 ? _twinDirty : (RedisKey?)null)));

        var stored = (await Db.HashGetAllAsync(RedisKeys.Blocks(VdiskId))).ToDictionary(e => (long)e.Name, e => (byte[])e.Value!);
        Assert.Equal(writes - writes / 5, stored.Count);
        for (var b = 0; b < writes; b++)
        {
            if (b % 5 == 0) Assert.False(stored.ContainsKey(b), $"block {b} should be deleted");
            else Assert.Equal(TestBlocks.Content(b, BlockSize), stored[b]);
        }
        Assert.Equal(Enumerable.Range(0, writes).Where(b => b % 3 == 0).Select(b => (long)b), (await Db.SetMembersAsync(_twinDirty)).Select(m => (long)m).Order());
        Assert.Equal(Enumerable.Range(0, writes).Select(b => (long)b), (await Db.SortedSetRangeByRankAsync(RedisKeys.RecentWrites(VdiskId))).Select(m => (long)m).Order());
        Assert.Equal("3", await Db.StringGetAsync(RedisKeys.Fence(VdiskId)));
        var commands = await _engine.CommandCallsAsync();
        // A call of deletes alone carries no data: it is small and keeps the script.
        Assert.InRange(commands.GetValueOrDefault("evalsha") + commands.GetValueOrDefault("eval"), 0, writes / 5);
        Assert.InRange(commands.GetValueOrDefault("exec"), 1, writes);
    }

    [Fact]
    public async Task Under_a_higher_fence_every_write_fails_nothing_lands_and_the_fence_trips()
    {
        await Db.StringSetAsync(RedisKeys.Fence(VdiskId), 9);
        var fence = new EngineFence(VdiskId, epoch: 5);
        string? reason = null;
        fence.Tripped += r => reason = r;

        var writes = Enumerable.Range(0, 20).Select(b => fence.WriteBlockAsync(Slot, b, Content(b), _twinDirty)).ToArray();
        await Assert.ThrowsAnyAsync<Exception>(() => Task.WhenAll(writes));

        Assert.All(writes, w => Assert.IsType<StorageIoException>(w.Exception!.InnerException));
        Assert.True(fence.IsTripped);
        Assert.Contains("FENCED", reason);
        await NothingWrittenAsync();
        Assert.Equal("9", await Db.StringGetAsync(RedisKeys.Fence(VdiskId)));
    }

    [Fact]
    public async Task To_an_engine_that_lost_its_identity_every_write_fails_as_an_engine_failure()
    {
        await Db.StringSetAsync(EngineIdentity.RedisKey, "a-new-disk");
        var fence = new EngineFence(VdiskId, epoch: 1);

        var writes = Enumerable.Range(0, 20).Select(b => fence.WriteBlockAsync(Slot, b, Content(b), _twinDirty)).ToArray();
        await Assert.ThrowsAnyAsync<Exception>(() => Task.WhenAll(writes));

        Assert.All(writes, w => Assert.True(StorageEngines.IsEngineFailure(w.Exception!.InnerException!), w.Exception.InnerException!.Message));
        Assert.All(writes, w => Assert.Contains("IDENTITY", w.Exception!.InnerException!.Message));
        Assert.False(fence.IsTripped);
        await NothingWrittenAsync();
        Assert.False(await Db.KeyExistsAsync(RedisKeys.Fence(VdiskId)));
    }

    private async Task NothingWrittenAsync()
    {
        Assert.Equal(0, await Db.HashLengthAsync(RedisKeys.Blocks(VdiskId)));
        Assert.Equal(0, await Db.SortedSetLengthAsync(RedisKeys.RecentWrites(VdiskId)));
        Assert.Equal(0, await Db.SetLengthAsync(_twinDirty));
    }
}
