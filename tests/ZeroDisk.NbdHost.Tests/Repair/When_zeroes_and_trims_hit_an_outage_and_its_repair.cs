namespace ZeroDisk.NbdHost.Tests.Repair;

/// <summary>
/// Deletes are data, through a real client on <c>nbdhost serve</c>: WRITE_ZEROES
/// and TRIM (qemu-io <c>write -z</c>, <c>discard</c>) while a primary engine is down, and more of both while its
/// (slowed) tmp repair runs. Afterwards those ranges read as zeros, no engine of any shard stores a block of them
/// (all-zero blocks are absent), and both sides of every shard hold the same hash.
/// </summary>
public sealed class When_zeroes_and_trims_hit_an_outage_and_its_repair(ITestOutputHelper output) : ServeProcessTest(output)
{
    private const int K = 1024;

    // Zeroed while the engine is down: the restarted engine still holds 0x11 there; only the repair can delete it.
    private static readonly (int Offset, int Length)[] ZeroedInOutage = [(1 * K * K, 512 * K), (3 * K * K, 512 * K)];

    // Zeroed while the repair runs: 5M and 6M are not dirty (the write must reach both sides itself), 12M and 14M are
    // dirty (the delete races the repair's copy of the same blocks).
    private static readonly (int Offset, int Length)[] ZeroedInRepair = [(5 * K * K, 512 * K), (6 * K * K, 512 * K), (12 * K * K, 512 * K), (14 * K * K, 512 * K)];

    // 8 blocks a batch at 512 KiB/s: 128 blocks a second, so the ~1000+ dirty blocks of shard 0 take seconds.
    protected override IReadOnlyDictionary<string, string> ServeEnvironment { get; } = new Dictionary<string, string>
    {
        ["Storage__RepairBatch"] = "8",
        ["Storage__RepairBytesPerSecond"] = (512 * K).ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    [Fact]
    public async Task The_ranges_read_as_zeros_and_are_absent_on_both_sides_after_the_repair()
    {
        var engine = H.Clusters.Primary[0];
        var twin = H.Inspect(H.Clusters.Slave[0]);
        await QemuIoAsync("write -P 0x11 0 16M");
        var written = await H.StoredBlocksAsync(engine);
        Assert.All(ZeroedInOutage.Concat(ZeroedInRepair).SelectMany(BlocksOf).Where(b => b % 2 == 0), b => Assert.Contains(b, written.Select(e => e.Block)));

        await Task.Delay(1500); // appendfsync everysec: the restarted engine will still hold 0x11 there
        await engine.KillAsync();
        await QemuIoAsync(["write -P 0x22 8M 8M", .. ZeroCommands(ZeroedInOutage)]);
        foreach (var b in ZeroedInOutage.SelectMany(BlocksOf).Where(b => b % 2 == 0))
            Assert.True(await twin.SetContainsAsync(H.DirtyKey(engine), b), $"block {b} zeroed in the outage is dirty");

        await engine.RestartAsync();
        var stale = (await H.StoredBlocksAsync(engine)).Select(e => e.Block).ToHashSet();
        Assert.All(ZeroedInOutage.SelectMany(BlocksOf).Where(b => b % 2 == 0), b => Assert.Contains(b, stale));
        var dirty = await twin.SetLengthAsync(H.DirtyKey(engine));
        await H.PutStateAsync(ClusterSide.Primary, 0, EngineState.Offline);
        await H.PutStateAsync(ClusterSide.Primary, 0, EngineState.RepairTmpOutage);
        await StorageHarness.WaitUntilAsync(() => twin.SetLength(H.DirtyKey(engine)) < dirty, TimeSpan.FromSeconds(60), "the repair to copy its first blocks");

        await QemuIoAsync(ZeroCommands(ZeroedInRepair));
        var complete = StderrLines.TmpRepairComplete(engine.Address, H.VdiskId);
        Assert.DoesNotContain(complete, Serve.StderrLines); // the zeroes really ran during the repair
        Assert.True(await twin.SetLengthAsync(H.DirtyKey(engine)) > 0, "the repair was still running after the zeroes");

        await Serve.WaitForStderrAsync(complete, TimeSpan.FromSeconds(120));
        // Only the killed engine failed. Another one reported failed (a command timeout on a starved machine) leaves
        // its shard's sides different by design (its dirty set says which blocks), which no repair here mends: say so.
        var otherFailures = Serve.StderrLines.Where(l => l.Contains("storageengine-failure", StringComparison.Ordinal) && !l.Contains(engine.Address, StringComparison.Ordinal)).ToList();
        Assert.True(otherFailures.Count == 0, $"engines other than the killed one were reported failed: {string.Join("; ", otherFailures)}");
        await QemuIoAsync([.. ZeroedInOutage.Concat(ZeroedInRepair).Select(r => $"read -P 0 {r.Offset} {r.Length}"), "read -P 0x11 0 1M", "read -P 0x22 13M 1M"]);
        foreach (var side in new[] { ClusterSide.Primary, ClusterSide.Slave })
            foreach (var e in H.Engines(side))
            {
                var stored = (await H.StoredBlocksAsync(e)).Select(x => x.Block).ToHashSet();
                Assert.DoesNotContain(ZeroedInOutage.Concat(ZeroedInRepair).SelectMany(BlocksOf), stored.Contains);
            }
        for (var shard = 0; shard < 2; shard++)
        {
            var primary = (await H.StoredBlocksAsync(H.Clusters.Primary[shard])).ToDictionary(e => e.Block, e => e.Content);
            var slave = (await H.StoredBlocksAsync(H.Clusters.Slave[shard])).ToDictionary(e => e.Block, e => e.Content);
            var differing = primary.Keys.Union(slave.Keys).Order()
                .Where(b => !primary.TryGetValue(b, out var p) || !slave.TryGetValue(b, out var s) || !p.AsSpan().SequenceEqual(s))
                .Select(b => $"{b}: primary {Describe(primary, b)}, slave {Describe(slave, b)}").ToList();
            Assert.True(differing.Count == 0, $"shard {shard}: {differing.Count} blocks differ: {string.Join("; ", differing.Take(20))}; " +
                $"dirty blocks left: primary {await DirtyCountAsync(shard, ClusterSide.Primary)}, slave {await DirtyCountAsync(shard, ClusterSide.Slave)}");
        }
        Assert.Equal(0, await twin.SetLengthAsync(H.DirtyKey(engine)));
    }

    /// <summary>How many blocks of the engine are recorded stale (in its dirty set, kept on its twin).</summary>
    private async Task<long> DirtyCountAsync(int shard, ClusterSide side)
    {
        var stale = H.Engines(side)[shard];
        var twin = H.Engines(side == ClusterSide.Primary ? ClusterSide.Slave : ClusterSide.Primary)[shard];
        return await H.Inspect(twin).SetLengthAsync(H.DirtyKey(stale));
    }

    private static string Describe(Dictionary<long, byte[]> blocks, long block) =>
        blocks.TryGetValue(block, out var content) ? $"0x{content[0]:x2}…" : "absent";

    private static string[] ZeroCommands((int Offset, int Length)[] ranges) =>
        ranges.Select((r, i) => i % 2 == 0 ? $"write -z {r.Offset} {r.Length}" : $"discard {r.Offset} {r.Length}").ToArray();

    private IEnumerable<long> BlocksOf((int Offset, int Length) range) =>
        Enumerable.Range(range.Offset / H.BlockSize, range.Length / H.BlockSize).Select(b => (long)b);
}
