using System.Buffers.Binary;
using System.Diagnostics;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.NbdHost.Tests.Serving;

/// <summary>
/// The vdisk is taken off <c>&lt;serverID&gt;:nbdserver:conf:vdisks</c> while a client keeps 16 writes
/// in flight (each block stamped with an increasing sequence). Once its owner key is gone from etcd — when another
/// process may own it — nothing of the old connection reaches an engine any more: the engines' content, read directly
/// right after the release and again a while later, does not change.
/// </summary>
public sealed class When_a_vdisk_is_delisted_under_load(ITestOutputHelper output) : ServeProcessTest(output)
{
    private const int Blocks = 64;
    private const int InFlight = 16;

    [Fact]
    public async Task No_write_of_its_connections_lands_after_the_owner_key_is_released()
    {
        Assert.NotNull(await H.OwnerAsync());
        await using var session = await RawNbdSession.OpenAsync(Serve.Port, H.VdiskId);
        long acknowledged = 0, failed = 0;
        var writer = Task.Run(async () =>
        {
            var slots = new SemaphoreSlim(InFlight);
            var replies = Task.Run(async () =>
            {
                while (true)
                {
                    var (error, _) = await session.ReadSimpleReplyAsync();
                    Interlocked.Increment(ref error == 0 ? ref acknowledged : ref failed);
                    slots.Release();
                }
            });
            var content = new byte[H.BlockSize];
            for (ulong sequence = 1; ; sequence++)
            {
                if (replies.IsCompleted) break;
                await slots.WaitAsync(TimeSpan.FromSeconds(30));
                var block = sequence % Blocks;
                for (var i = 0; i < content.Length; i += 16)
                {
                    BinaryPrimitives.WriteUInt64BigEndian(content.AsSpan(i), sequence);
                    BinaryPrimitives.WriteUInt64BigEndian(content.AsSpan(i + 8), block);
                }
                await session.SendRequestAsync(1, sequence, block * (ulong)H.BlockSize, (uint)H.BlockSize, content);
            }
        });
        await Eventually.TrueAsync(() => Interlocked.Read(ref acknowledged) >= 500, TimeSpan.FromSeconds(60), "500 writes acknowledged");

        var delisted = Stopwatch.StartNew();
        await H.Etcd.PutJsonAsync(EtcdKeys.NbdServerVdisks(H.ServerId), new NbdServerVdisksConfig([]));
        while (await H.OwnerAsync() is not null)
        {
            Assert.True(delisted.Elapsed < TimeSpan.FromSeconds(60), "the owner key was not released within 60 s of the de-listing");
            await Task.Delay(5);
        }
        var released = delisted.Elapsed;
        var atRelease = await EngineContentAsync();
        var ackedAtRelease = Interlocked.Read(ref acknowledged);
        await Task.Delay(TimeSpan.FromSeconds(2));
        var later = await EngineContentAsync();

        Output.WriteLine($"owner key released {released.TotalMilliseconds:0} ms after the de-listing; {ackedAtRelease} writes acknowledged by then, " +
            $"{Interlocked.Read(ref acknowledged)} in all, {Interlocked.Read(ref failed)} failed; highest sequence on the engines {HighestSequence(atRelease)}");
        Assert.True(HighestSequence(atRelease) >= 500, "the load did not reach the engines");
        Assert.Equal(atRelease, later);
        Assert.Equal(ackedAtRelease, Interlocked.Read(ref acknowledged)); // nothing was acknowledged after the release either
        await writer.WaitAsync(TimeSpan.FromSeconds(30)).ContinueWith(_ => { }); // the server closed the connection
        Assert.True(writer.IsCompleted, "the de-listed vdisk's connection is still open");
        Assert.Contains("owner key released", Serve.Output);
    }

    /// <summary>Every stored block of the vdisk on every engine, as "engine/block" → hex.</summary>
    private async Task<SortedDictionary<string, string>> EngineContentAsync()
    {
        var content = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var engine in H.Clusters.Primary.Concat(H.Clusters.Slave))
            foreach (var (block, bytes) in await H.StoredBlocksAsync(engine))
                content[$"{engine.Address}/{block}"] = Convert.ToHexString(bytes);
        return content;
    }

    private static ulong HighestSequence(SortedDictionary<string, string> content) =>
        content.Values.Select(hex => BinaryPrimitives.ReadUInt64BigEndian(Convert.FromHexString(hex[..16]))).DefaultIfEmpty().Max();
}
