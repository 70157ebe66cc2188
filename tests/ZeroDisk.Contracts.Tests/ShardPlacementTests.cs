using ZeroDisk.Contracts;

namespace ZeroDisk.Contracts.Tests;

public class ShardPlacementTests
{
    // Published vectors of the Lamping–Veach function, shared by every conforming implementation.
    [Theory]
    [InlineData(1UL, 1, 0)]
    [InlineData(42UL, 57, 43)]
    [InlineData(0xDEAD10CCUL, 1, 0)]
    [InlineData(0xDEAD10CCUL, 666, 361)]
    [InlineData(256UL, 1024, 520)]
    [InlineData(1UL, 128, 55)]
    [InlineData(129UL, 128, 120)]
    [InlineData(4UL, 2, 1)]
    [InlineData(7UL, 2, 0)]
    [InlineData(128UL, 100000000, 38172097)]
    [InlineData(ulong.MaxValue, 128, 92)]
    public void Jump_hash_matches_the_golden_vectors(ulong key, int buckets, int expected) =>
        Assert.Equal(expected, JumpHash.Bucket(key, buckets));

    [Fact]
    public void A_block_stays_on_its_home_shard_while_that_shard_lives()
    {
        for (long block = 0; block < 1000; block++)
            Assert.Equal((int)(block % 4), ShardPlacement.ShardOf(block, 4, _ => false));
    }

    [Fact]
    public void A_block_of_a_rip_shard_moves_by_the_jump_loop_over_all_shards()
    {
        bool[] rip = [false, true, false, false];
        for (long block = 1; block < 4000; block += 4)
        {
            // k = i; do { s = jump(k, N); k++ } while (rip(s))
            var k = (ulong)block;
            int s;
            do { s = JumpHash.Bucket(k, 4); k++; } while (rip[s]);
            var shard = ShardPlacement.ShardOf(block, rip);
            Assert.Equal(s, shard);
            Assert.NotEqual(1, shard);
        }
    }

    [Fact]
    public void Respread_is_pinned_by_golden_placements()
    {
        // Computed once by an independent implementation (Python) of the same loop; a drift makes blocks unreadable.
        Assert.Equal([0, 2, 2, 0, 2, 3, 0, 3], new long[] { 1, 5, 9, 13, 17, 21, 25, 29 }.Select(b => ShardPlacement.ShardOf(b, [false, true, false, false])));
        Assert.Equal([0, 3, 0, 0, 0, 0], new long[] { 1, 2, 5, 6, 9, 10 }.Select(b => ShardPlacement.ShardOf(b, [false, true, true, false])));
    }

    [Fact]
    public void Blocks_of_a_dead_shard_are_spread_over_all_survivors()
    {
        bool[] rip = [false, true, false, false];
        var counts = new int[4];
        for (long block = 1; block < 40000; block += 4) counts[ShardPlacement.ShardOf(block, rip)]++;
        Assert.Equal(0, counts[1]);
        Assert.All(new[] { counts[0], counts[2], counts[3] }, c => Assert.InRange(c, 2500, 4200));
    }
}
