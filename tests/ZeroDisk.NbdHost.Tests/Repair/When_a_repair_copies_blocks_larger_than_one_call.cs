namespace ZeroDisk.NbdHost.Tests.Repair;

/// <summary>
/// A tmp repair of 64 KiB blocks: a part of the copy (128 blocks, 8 MiB) goes to the target in calls of at most
/// 1 MiB, blocks zeroed during the outage are copied as deletes, and both sides end identical.
/// </summary>
public sealed class When_a_repair_copies_blocks_larger_than_one_call(ITestOutputHelper output) : StorageHarnessTest(output)
{
    private const int Blocks = 512;
    private const int Zeroed = 64;
    private const int MaxBytesPerCall = 1 << 20;

    protected override int Shards => 1;

    protected override int BlockSize => 64 * 1024;

    [Fact]
    public async Task The_target_gets_calls_of_at_most_a_mebibyte_and_ends_identical_to_its_twin()
    {
        var target = H.Clusters.Slave[0];
        await WriteBlocksAsync(seed: 1);
        await Task.Delay(1500); // whatever the AOF policy, the killed engine keeps the first contents
        await target.KillAsync();
        await WriteBlocksAsync(seed: 2);
        await H.Vdisk.WriteZeroesAsync(0, (long)Zeroed * BlockSize, noHole: false, fua: false, default);

        await target.RestartAsync();
        var stale = (await H.StoredBlocksAsync(target)).Select(e => e.Block).ToHashSet();
        Assert.Contains(0L, stale); // the repair has deletes to copy
        await H.SetStateAsync(ClusterSide.Slave, 0, EngineState.Offline);
        await H.Inspect(target).ExecuteAsync("CONFIG", "RESETSTAT");
        await H.SetStateAsync(ClusterSide.Slave, 0, EngineState.RepairTmpOutage);
        await H.Events.WaitForAsync(StderrLines.TmpRepairComplete(target.Address, H.VdiskId), TimeSpan.FromSeconds(120));

        var primary = await H.StoredBlocksAsync(H.Clusters.Primary[0]);
        var repaired = await H.StoredBlocksAsync(target);
        Assert.Equal(Blocks - Zeroed, primary.Count);
        Assert.Equal(primary.Select(e => (e.Block, Convert.ToHexString(e.Content))), repaired.Select(e => (e.Block, Convert.ToHexString(e.Content))));

        // Every transaction the target ran since the repair began (each chunk of copies is one MULTI/EXEC guarded by
        // WATCH on the fence): a transaction per 128-block part would be 4 of 8 MiB each here.
        var stats = (string)(await H.Inspect(target).ExecuteAsync("INFO", "commandstats"))!;
        var calls = System.Text.RegularExpressions.Regex.Matches(stats, @"cmdstat_exec:calls=(\d+)")
            .Sum(m => long.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
        var copiedBytes = (long)(Blocks - Zeroed) * BlockSize;
        Output.WriteLine($"{copiedBytes >> 20} MiB copied to the target in {calls} transactions");
        Assert.True(calls >= copiedBytes / MaxBytesPerCall, $"{copiedBytes >> 20} MiB went to the target in {calls} transactions: some carried more than 1 MiB");
    }

    private async Task WriteBlocksAsync(int seed)
    {
        var random = new Random(seed);
        var chunk = new byte[16 * BlockSize];
        for (long offset = 0; offset < (long)Blocks * BlockSize; offset += chunk.Length)
        {
            random.NextBytes(chunk);
            await H.Vdisk.WriteAsync(offset, chunk, false, default);
        }
    }
}
