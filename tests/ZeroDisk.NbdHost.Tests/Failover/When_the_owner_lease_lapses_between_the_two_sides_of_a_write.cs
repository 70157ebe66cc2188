using Etcdserverpb;
using Google.Protobuf;
using StackExchange.Redis;
using ZeroDisk.ServiceDefaults.Etcd;
using ZeroDisk.Storage.Ownership;

namespace ZeroDisk.NbdHost.Tests.Failover;

/// <summary>
/// A torn mirrored write: the owner lease lapses while one side's call of a write waits its turn behind calls a
/// paused slave engine has not answered. The primary has the write; the slave's call is refused in the process (the
/// lease is gone), so it never gets it. No engine failed, so nothing marked the block dirty on either side. The next
/// owner (the same server claiming the vdisk again, as a fresh term) must make both sides hold the same content
/// before it serves: otherwise a read returns the new content while the primary serves and the old one after it
/// fails. Before the takeover checked the engines' recent-write windows, the two sides stayed different for good
/// (fault-checker seed 1000: "primary and slave differ in block 0").
/// </summary>
public sealed class When_the_owner_lease_lapses_between_the_two_sides_of_a_write(ITestOutputHelper output) : StorageHarnessTest(output)
{
    // Long enough that the paused slave is waited for rather than failed over (the tear must come from the lease),
    // short enough for the default lease (10 s), whose safety margin must exceed it.
    protected override StorageOptions? Options => StorageHarness.TestStorageOptions with { CommandTimeout = TimeSpan.FromSeconds(5) };

    [Fact]
    public async Task The_next_owner_makes_both_sides_the_same_before_serving()
    {
        var first = H.Vdisk;
        var shard0 = Enumerable.Range(0, 64).Select(b => (long)b).Where(b => first.Topology.ShardOf(b) == 0).Take(4).ToArray();
        foreach (var block in shard0) await first.WriteAsync(block * H.BlockSize, TestBlocks.Content(block, H.BlockSize, 1), fua: false, CancellationToken.None);
        var primary = H.Inspect(H.Clusters.Primary[0]);
        var slave = H.Inspect(H.Clusters.Slave[0]);

        // The slave answers no write for a while: two calls go out to it and wait there; a third write's slave call
        // waits in the process for its turn, while its primary call is answered.
        await slave.ExecuteAsync("CLIENT", "PAUSE", "20000", "WRITE");
        var pending = new List<Task>();
        try
        {
            foreach (var block in shard0.Take(3))
            {
                pending.Add(first.WriteAsync(block * H.BlockSize, TestBlocks.Content(block, H.BlockSize, 2), fua: false, CancellationToken.None).AsTask());
                await Task.Delay(100);
            }
            var torn = shard0[2];
            await StorageHarness.WaitUntilAsync(() => ((byte[]?)primary.HashGet(H.BlocksKey, torn))?.SequenceEqual(TestBlocks.Content(torn, H.BlockSize, 2)) == true,
                TimeSpan.FromSeconds(10), "the third write on the primary");

            // The owner lease goes away (as an expiry would): the vdisk is fenced out here at once.
            using var etcd = new EtcdGrpc(H.EtcdEndpoints);
            var key = (await etcd.Kv.RangeAsync(new RangeRequest { Key = ByteString.CopyFromUtf8(EtcdKeys.VdiskOwner(H.VdiskId)) })).Kvs.Single();
            await etcd.Leases.LeaseRevokeAsync(new LeaseRevokeRequest { ID = key.Lease });
            await StorageHarness.WaitUntilAsync(() => first.IsFenced, TimeSpan.FromSeconds(10), "the first term fenced out");
        }
        finally
        {
            await slave.ExecuteAsync("CLIENT", "UNPAUSE");
        }
        var outcomes = await Task.WhenAll(pending.Select(async t =>
        {
            try
            {
                await t;
                return "ok";
            }
            catch (Exception ex)
            {
                return ex.GetType().Name;
            }
        }));
        Output.WriteLine($"the three writes of the lapsing term: {string.Join(", ", outcomes)}");
        Assert.NotEqual("ok", outcomes[2]); // the torn write was never acknowledged

        // The same server claims the vdisk again under a new lease and epoch: a takeover, as by any other process.
        var second = await Eventually.ValueAsync(() => Task.FromResult(H.Catalog.Find(H.VdiskId)), v => v is not null && v != first, TimeSpan.FromSeconds(60));
        Output.WriteLine($"claimed again: epoch {first.OwnerEpoch} -> {second!.OwnerEpoch}");
        Assert.True(second.OwnerEpoch > first.OwnerEpoch);

        var onPrimary = await H.StoredBlocksAsync(H.Clusters.Primary[0]);
        var onSlave = await H.StoredBlocksAsync(H.Clusters.Slave[0]);
        var differing = onPrimary.Select(e => e.Block).Union(onSlave.Select(e => e.Block))
            .Where(b => !Equal(onPrimary, onSlave, b)).ToList();
        Assert.True(differing.Count == 0, $"primary and slave differ in block(s) {string.Join(' ', differing)} after the takeover");
        Assert.Contains(H.Logs.Lines, l => l.Contains("did not make on both sides", StringComparison.Ordinal));

        // What the vdisk serves is what both sides hold.
        var read = new byte[H.BlockSize];
        await second.ReadAsync(shard0[2] * H.BlockSize, read, CancellationToken.None);
        Assert.Equal(onPrimary.Single(e => e.Block == shard0[2]).Content, read);
    }

    private static bool Equal(IReadOnlyList<(long Block, byte[] Content)> a, IReadOnlyList<(long Block, byte[] Content)> b, long block) =>
        a.FirstOrDefault(e => e.Block == block).Content is { } x && b.FirstOrDefault(e => e.Block == block).Content is { } y && x.SequenceEqual(y);
}
