using StackExchange.Redis;
using ZeroDisk.ServiceDefaults.Engines;
using ZeroDisk.Storage.RepairCopy;

namespace ZeroDisk.NbdHost.Tests.Storage;

/// <summary>
/// A repair's copies (<see cref="BlockCopyWriter"/>) against a real redis-server: written by transactions that WATCH
/// the fence and the identity marker instead of a script, they land whole with their recent-write entries, and the
/// engine still refuses every copy of an older epoch or to an engine that lost its identity.
/// </summary>
public sealed class When_a_repair_copies_blocks_under_the_fence : IAsyncLifetime
{
    private const int BlockSize = 4096;
    private const string VdiskId = "copy-vd";
    private const string Identity = "copy-engine";
    private SingleEngine _engine = null!;

    public async Task InitializeAsync() => _engine = await SingleEngine.StartAsync(VdiskId, Identity, EngineState.RepairTmpOutage, ClusterSide.Slave);

    public async Task DisposeAsync() => await _engine.DisposeAsync();

    private EngineSlot Target => _engine.Slot;

    private IDatabase Db => _engine.Db;

    /// <summary>Blocks 0..count-1: every fifth absent (a delete of what the target held), the rest with content.</summary>
    private static (long[] Blocks, RedisValue[] Contents) Copies(int count) =>
        ([.. Enumerable.Range(0, count).Select(b => (long)b)],
         [.. Enumerable.Range(0, count).Select(b => b % 5 == 0 ? RedisValue.Null : (RedisValue)TestBlocks.Content(b, BlockSize))]);

    [Fact]
    public async Task Copies_land_whole_with_their_window_entries_and_raise_a_lower_fence()
    {
        const int count = 600; // more than one chunk of at most 1 MiB
        await Db.StringSetAsync(RedisKeys.Fence(VdiskId), 2);
        await Db.HashSetAsync(RedisKeys.Blocks(VdiskId), [.. Enumerable.Range(0, count).Where(b => b % 5 == 0).Select(b => new HashEntry(b, "stale"))]);
        await _engine.ResetCommandStatsAsync();
        var fence = new EngineFence(VdiskId, epoch: 3);
        var (blocks, contents) = Copies(count);

        var (written, failure) = await BlockCopyWriter.WriteAsync(fence, Target, blocks, contents);

        Assert.Null(failure);
        Assert.All(written, Assert.True);
        var stored = (await Db.HashGetAllAsync(RedisKeys.Blocks(VdiskId))).ToDictionary(e => (long)e.Name, e => (byte[])e.Value!);
        Assert.Equal(count - count / 5, stored.Count);
        for (var b = 0; b < count; b++)
        {
            if (b % 5 == 0) Assert.False(stored.ContainsKey(b), $"block {b} should be deleted");
            else Assert.Equal(TestBlocks.Content(b, BlockSize), stored[b]);
        }
        var window = (await Db.SortedSetRangeByRankAsync(RedisKeys.RecentWrites(VdiskId))).Select(m => (long)m).Order();
        Assert.Equal(blocks, window);
        Assert.Equal("3", await Db.StringGetAsync(RedisKeys.Fence(VdiskId)));
        var commands = await _engine.CommandCallsAsync();
        Assert.False(commands.ContainsKey("evalsha") || commands.ContainsKey("eval"), "the copies went through Lua");
        Assert.InRange(commands.GetValueOrDefault("exec"), 3, 10); // one transaction per chunk of at most 1 MiB
    }

    [Fact]
    public async Task A_copy_under_a_higher_fence_writes_nothing_and_trips_the_fence()
    {
        await Db.StringSetAsync(RedisKeys.Fence(VdiskId), 9);
        var fence = new EngineFence(VdiskId, epoch: 5);
        string? reason = null;
        fence.Tripped += r => reason = r;
        var (blocks, contents) = Copies(300);

        var (written, failure) = await BlockCopyWriter.WriteAsync(fence, Target, blocks, contents);

        Assert.All(written, Assert.False);
        Assert.IsType<StorageIoException>(failure);
        Assert.True(fence.IsTripped);
        Assert.Contains("FENCED", reason);
        Assert.Equal(0, await Db.HashLengthAsync(RedisKeys.Blocks(VdiskId)));
        Assert.Equal(0, await Db.SortedSetLengthAsync(RedisKeys.RecentWrites(VdiskId)));
        Assert.Equal("9", await Db.StringGetAsync(RedisKeys.Fence(VdiskId)));
    }

    [Fact]
    public async Task A_copy_to_an_engine_that_lost_its_identity_writes_nothing_and_is_an_engine_failure()
    {
        await Db.StringSetAsync(EngineIdentity.RedisKey, "a-new-disk");
        var fence = new EngineFence(VdiskId, epoch: 1);
        var (blocks, contents) = Copies(300);

        var (written, failure) = await BlockCopyWriter.WriteAsync(fence, Target, blocks, contents);

        Assert.All(written, Assert.False);
        Assert.NotNull(failure);
        Assert.True(StorageEngines.IsEngineFailure(failure), failure.ToString());
        Assert.Contains("IDENTITY", failure.Message);
        Assert.False(fence.IsTripped);
        Assert.Equal(0, await Db.HashLengthAsync(RedisKeys.Blocks(VdiskId)));
        Assert.False(await Db.KeyExistsAsync(RedisKeys.Fence(VdiskId)));
    }
}
