using Etcdserverpb;
using Google.Protobuf;
using StackExchange.Redis;
using ZeroDisk.ServiceDefaults.Etcd;
using ZeroDisk.Storage.Ownership;

namespace ZeroDisk.NbdHost.Tests.Harness;

/// <summary>
/// A mirrored write torn the way a lapsing owner lease tears it, on the in-process server: one side's engine answers
/// no write for a while, so two calls go out to it and wait there and a third write's call to it waits in the process
/// for its turn, while the other side answers that write. Then the owner lease is revoked (as an expiry would): the
/// vdisk is fenced out here, and the waiting call is refused in the process and never sent. No engine failed, so
/// nothing marks the block dirty anywhere. The server claims the vdisk again once its owner key is free.
/// </summary>
public static class TornWrite
{
    /// <summary>
    /// The in-process server's options for a test of a tear: a command timeout that outlasts the pause (about 2 s), so
    /// the paused side is waited for rather than failed over and the tear comes from the lease; short enough for the
    /// default lease (10 s), whose safety margin must exceed it.
    /// </summary>
    public static StorageOptions ServerOptions { get; } = StorageHarness.TestStorageOptions with { CommandTimeout = TimeSpan.FromSeconds(5) };

    /// <summary>Tears a write of block 0-shard's third block; returns that block (held new by the other side alone).</summary>
    /// <param name="whileFenced">Runs once the vdisk is fenced out, before the paused side answers again.</param>
    public static async Task<long> MakeAsync(StorageHarness h, ClusterSide missing, ITestOutputHelper output, Func<Task>? whileFenced = null)
    {
        var vdisk = h.Vdisk;
        var blocks = Enumerable.Range(0, 64).Select(b => (long)b).Where(b => vdisk.Topology.ShardOf(b) == 0).Take(3).ToArray();
        foreach (var block in blocks) await vdisk.WriteAsync(block * h.BlockSize, TestBlocks.Content(block, h.BlockSize, 1), fua: false, CancellationToken.None);
        // Out of the engines' recent-write windows by the time the tear comes: the windows name only the torn term's writes.
        await Task.Delay(h.Options.RecentWriteWindow + TimeSpan.FromMilliseconds(500));
        var paused = h.Inspect(h.Engines(missing)[0]);
        var other = h.Inspect(h.Engines(missing == ClusterSide.Primary ? ClusterSide.Slave : ClusterSide.Primary)[0]);
        var torn = blocks[2];

        await paused.ExecuteAsync("CLIENT", "PAUSE", "20000", "WRITE");
        var writes = new List<Task>();
        try
        {
            foreach (var block in blocks)
            {
                writes.Add(vdisk.WriteAsync(block * h.BlockSize, TestBlocks.Content(block, h.BlockSize, 2), fua: false, CancellationToken.None).AsTask());
                await Task.Delay(100);
            }
            await StorageHarness.WaitUntilAsync(() => ((byte[]?)other.HashGet(h.BlocksKey, torn))?.SequenceEqual(TestBlocks.Content(torn, h.BlockSize, 2)) == true,
                TimeSpan.FromSeconds(10), $"the third write on the {missing} side's twin");

            using var etcd = new EtcdGrpc(h.EtcdEndpoints);
            var key = (await etcd.Kv.RangeAsync(new RangeRequest { Key = ByteString.CopyFromUtf8(EtcdKeys.VdiskOwner(h.VdiskId)) })).Kvs.Single();
            await etcd.Leases.LeaseRevokeAsync(new LeaseRevokeRequest { ID = key.Lease });
            await StorageHarness.WaitUntilAsync(() => vdisk.IsFenced, TimeSpan.FromSeconds(10), "the vdisk fenced out");
            if (whileFenced is not null) await whileFenced();
        }
        finally
        {
            await paused.ExecuteAsync("CLIENT", "UNPAUSE");
        }
        var outcomes = await Task.WhenAll(writes.Select(async write =>
        {
            try
            {
                await write;
                return "ok";
            }
            catch (Exception ex)
            {
                return ex.GetType().Name;
            }
        }));
        output.WriteLine($"the writes of the lapsing term: {string.Join(", ", outcomes)}; block {torn} is new on the {missing} side's twin only");
        Assert.NotEqual("ok", outcomes[2]); // the torn write was never acknowledged
        return torn;
    }

    /// <summary>The vdisk as the server claimed it again after the tear (a takeover, as by any other process).</summary>
    public static async Task<VdiskStorage> ClaimedAgainAsync(StorageHarness h, VdiskStorage before)
    {
        var again = await Eventually.ValueAsync(() => Task.FromResult(h.Catalog.Find(h.VdiskId)), v => v is not null && v != before, TimeSpan.FromSeconds(60));
        Assert.True(again!.OwnerEpoch > before.OwnerEpoch, $"epoch {again.OwnerEpoch} after {before.OwnerEpoch}");
        return again;
    }

    /// <summary>The blocks shard 0's primary and slave hold differently (absent on one side counts).</summary>
    public static async Task<List<long>> DifferingBlocksAsync(StorageHarness h)
    {
        var primary = (await h.StoredBlocksAsync(h.Clusters.Primary[0])).ToDictionary(e => e.Block, e => e.Content);
        var slave = (await h.StoredBlocksAsync(h.Clusters.Slave[0])).ToDictionary(e => e.Block, e => e.Content);
        return primary.Keys.Union(slave.Keys).Order()
            .Where(b => !(primary.TryGetValue(b, out var p) && slave.TryGetValue(b, out var s) && p.SequenceEqual(s))).ToList();
    }
}
