namespace ZeroDisk.NbdHost.Tests.Repair;

/// <summary>
/// Reads only from a complete side: a slave engine that missed writes is in repair-tmp-outage, its (slowed) repair
/// half done, when the primary of its shard is SIGKILLed. The slave still holds old data for most of the shard, so
/// the shard has no complete side: its reads answer EIO, never the slave's old data, while the other shard reads the
/// new data. The repair pauses with a visible reason and keeps the dirty set (which lives on the dead primary); once
/// the primary is back from its files, it serves again by itself and the repair completes.
/// </summary>
public sealed class When_the_primary_dies_while_its_slave_is_repaired(ITestOutputHelper output) : StorageHarnessTest(output)
{
    private const int Blocks = 64;
    protected override StorageOptions Options => StorageHarness.TestStorageOptions with
    {
        RecentWriteWindow = TimeSpan.FromMilliseconds(300),
        RepairBatch = 1,
        RepairBytesPerSecond = 4 * 4096, // 4 blocks a second: the shard's 32 dirty blocks take 8 s
    };

    [Fact]
    public async Task Reads_of_that_shard_answer_EIO_never_the_slaves_old_data()
    {
        var model = new VdiskModel(H.Vdisk, Blocks);
        for (var i = 0; i < Blocks; i++) await model.WriteAsync(i, 1); // data A
        await Task.Delay(H.Options.RecentWriteWindow + TimeSpan.FromMilliseconds(100));
        var primary = H.Clusters.Primary[0];
        var slave = H.Clusters.Slave[0];

        await slave.KillAsync();
        for (var i = 0; i < Blocks; i++) await model.WriteAsync(i, 2); // data B: the slave misses shard 0's half
        Assert.Equal(Blocks / 2, await H.Inspect(primary).SetLengthAsync(H.DirtyKey(slave)));
        await slave.RestartAsync();
        await H.SetStateAsync(ClusterSide.Slave, 0, EngineState.Offline);
        await H.SetStateAsync(ClusterSide.Slave, 0, EngineState.RepairTmpOutage);

        // Some blocks copied, most not: then the complete side dies.
        await StorageHarness.WaitUntilAsync(() => H.Inspect(primary).SetLength(H.DirtyKey(slave)) <= Blocks / 2 - 2,
            TimeSpan.FromSeconds(20), "the repair to copy a few blocks");
        await primary.KillAsync();
        await H.Events.WaitForAsync($"{{\"type\": \"storageengine-failure\", \"data\": \"{primary.Address}\"}}", TimeSpan.FromSeconds(10));

        // The old data is there on the slave to be served wrongly: most of shard 0 is still A on it.
        var oldOnSlave = new List<long>();
        for (long b = 0; b < Blocks; b += 2)
            if (((byte[]?)await H.Inspect(slave).HashGetAsync(H.BlocksKey, b))!.SequenceEqual(TestBlocks.Content(b, H.BlockSize, 1)))
                oldOnSlave.Add(b);
        Output.WriteLine($"blocks of shard 0 still old on the slave: {oldOnSlave.Count}");
        Assert.InRange(oldOnSlave.Count, Blocks / 4, Blocks / 2 - 2);

        // Several rounds, while the repair retries: shard 0 answers EIO every time, shard 1 the new data.
        var buffer = new byte[H.BlockSize];
        for (var round = 0; round < 3; round++)
        {
            for (long b = 0; b < Blocks; b++)
            {
                if (b % 2 == 0)
                {
                    var error = await Assert.ThrowsAsync<StorageIoException>(() => H.Vdisk.ReadAsync(b * H.BlockSize, buffer, default).AsTask());
                    Assert.Equal(StorageError.Unavailable, error.Error);
                }
                else
                {
                    await H.Vdisk.ReadAsync(b * H.BlockSize, buffer, default);
                    Assert.Equal(model.Expected(b), buffer);
                }
            }
            await Task.Delay(H.Options.RepairRetryDelay);
        }
        // A read spanning both shards fails as a whole rather than returning a mix.
        await Assert.ThrowsAsync<StorageIoException>(() => H.Vdisk.ReadAsync(0, new byte[4 * H.BlockSize], default).AsTask());

        // The repair paused, visibly, and did not complete.
        Assert.Contains(H.Logs.Lines, l => l.Contains($"vdisk {H.VdiskId}: repair paused"));
        Assert.DoesNotContain(H.Events.Lines, l => l.Contains("repair-tmp-outage-complete"));
        Assert.Equal(SlotUse.RepairTarget, H.Vdisk.Topology.Slot(0, ClusterSide.Slave).Use);

        // The primary comes back from its files (a new run_id). It was the shard's last complete side and no side
        // holds more, so it serves again by itself, and the repair resumes from the dirty set kept on it and completes:
        // every block of the slave is B (one dropped from the set while the primary was away would still be A).
        await primary.RestartAsync();
        await H.Events.WaitForAsync($"{{\"type\": \"repair-tmp-outage-complete\", \"data\": {{\"address\": \"{slave.Address}\", \"vdiskid\": \"{H.VdiskId}\"}}}}",
            TimeSpan.FromSeconds(60));
        Assert.Contains(H.Logs.Lines, l => l.Contains($"storage engine {primary.Address} answers again after a restart"));
        Assert.Equal(model.ExpectedMd5(), await VdiskModel.Md5Async(H.Vdisk, Blocks));
        for (long b = 0; b < Blocks; b += 2)
            Assert.Equal(model.Expected(b), (byte[]?)await H.Inspect(slave).HashGetAsync(H.BlocksKey, b));
    }
}
