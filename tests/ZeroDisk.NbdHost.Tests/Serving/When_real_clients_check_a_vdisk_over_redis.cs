namespace ZeroDisk.NbdHost.Tests.Serving;

/// <summary>
/// The data plane's real-client checks (the same <see cref="RealClientChecks"/> the in-memory backend passes), against
/// <c>nbdhost serve</c> over two mirrored Redis shards, with the blocks looked up on the engines where it matters.
/// </summary>
public sealed class When_real_clients_check_a_vdisk_over_redis(ITestOutputHelper output) : ServeProcessTest(output)
{
    private string Uri => Serve.Uri(H.VdiskId);

    [Fact]
    public Task Qemu_io_patterns_flush_discard_and_write_zeroes_read_back() =>
        RealClientChecks.PatternsFlushDiscardAndWriteZeroesAsync(Uri);

    [Fact]
    public Task A_single_32_MiB_request_is_served() => RealClientChecks.SingleLargestRequestAsync(Uri, 64L << 20);

    [Fact]
    public async Task A_128_MiB_write_zeroes_deletes_every_block_on_both_sides()
    {
        const long blocksPerShard = (128L << 20) / 4096 / 2;
        await RealClientChecks.WriteZeroes128MiBAsync(Uri, 128L << 20,
            filled: async () => Assert.All(await BlocksPerEngineAsync(), n => Assert.Equal(blocksPerShard, n)),
            zeroed: async () => Assert.All(await BlocksPerEngineAsync(), n => Assert.Equal(0, n)));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public Task Fio_verifies_4k_random_writes(int jobs) => RealClientChecks.FioVerifyAsync(Uri, jobs);

    [Fact]
    public Task Requests_past_the_end_fail_and_the_connection_stays_usable() => RealClientChecks.PastTheEndAsync(Uri);

    [Fact]
    public Task Nbdcopy_round_trips_a_256_MiB_random_image() => RealClientChecks.NbdcopyRoundTripAsync(Uri, 256L << 20);

    /// <summary>HLEN of the vdisk's blocks on primary shard 0, primary shard 1, slave shard 0, slave shard 1.</summary>
    private async Task<long[]> BlocksPerEngineAsync() =>
        await Task.WhenAll(new[] { H.Clusters.Primary[0], H.Clusters.Primary[1], H.Clusters.Slave[0], H.Clusters.Slave[1] }
            .Select(engine => H.Inspect(engine).HashLengthAsync(H.BlocksKey)));
}
