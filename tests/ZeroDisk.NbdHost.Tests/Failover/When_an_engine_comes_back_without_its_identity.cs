using StackExchange.Redis;

namespace ZeroDisk.NbdHost.Tests.Failover;

/// <summary>
/// Identity is checked, never assumed, with real processes: while no <c>nbdhost serve</c> is connected, an engine
/// comes back wiped (restarted on an empty directory: no data, no identity marker) or answers with another engine's
/// marker. The next <c>serve</c> verifies every engine before it uses it: the engine is reported on stderr and never
/// read from, written to or fenced (its keys stay untouched); its twin serves the shard, so a 512-byte write keeps the
/// rest of its 4 KiB block. Without the check the wiped engine served zeroes, and the read-modify-write wrote the
/// zero-filled block to the twin as well.
/// </summary>
public sealed class When_an_engine_comes_back_without_its_identity(ITestOutputHelper output) : ServeProcessTest(output)
{
    private const string Pattern = "0x5a";

    // The first server is SIGKILLed: its owner key lapses after 6 s, not 10.
    protected override IReadOnlyDictionary<string, string>? ServeEnvironment => ShortOwnerLease;
    private static readonly byte[] Old = Enumerable.Repeat((byte)0x5a, 4096).ToArray();

    /// <summary>64 KiB written (blocks 0-15, both shards) and acknowledged by both sides; then the server is stopped.</summary>
    private async Task WriteThenStopServeAsync()
    {
        await QemuIoAsync($"write -P {Pattern} 0 64k");
        await StopAndLogAsync(Serve, "first nbdhost serve");
    }

    /// <summary>A new server takes the vdisk (the stopped one's lease is revoked or lapses) and reports <paramref name="engine"/>.</summary>
    private async Task StartServeAndExpectFailureAsync(RedisServerProcess engine)
    {
        Serve = await StartServeAsync();
        await Serve.WaitForExportAsync(H.VdiskId, TimeSpan.FromSeconds(60));
        await Serve.WaitForStderrAsync(StderrLines.EngineFailure(engine.Address), TimeSpan.FromSeconds(30));
    }

    /// <summary>Reads everything back, and a 512-byte write into block 0 (shard 0) keeps the other 3.5 KiB of the block.</summary>
    private async Task ReadAndPartiallyWriteAsync()
    {
        await QemuIoAsync($"read -P {Pattern} 0 64k");
        await QemuIoAsync("write -P 0x11 0 512", "write -P 0x22 4096 512"); // block 0 (shard 0) and block 1 (shard 1)
        await QemuIoAsync("read -P 0x11 0 512", $"read -P {Pattern} 512 3584", "read -P 0x22 4096 512", $"read -P {Pattern} 4608 3584");
    }

    private static byte[] Merged(byte head) => [.. Enumerable.Repeat(head, 512), .. Old[512..]];

    [Theory]
    [InlineData(ClusterSide.Primary)]
    [InlineData(ClusterSide.Slave)]
    public async Task A_wiped_engine_is_reported_and_never_used_while_its_twin_serves(ClusterSide side)
    {
        await WriteThenStopServeAsync();
        var wiped = H.Engines(side)[0];
        var twin = H.Engines(side == ClusterSide.Primary ? ClusterSide.Slave : ClusterSide.Primary)[0];
        await wiped.RestartEmptyAsync(); // a replaced disk: answers at once, empty, no marker

        await StartServeAndExpectFailureAsync(wiped);
        await ReadAndPartiallyWriteAsync();

        // The twin holds the merged block; the wiped engine got nothing at all: no block, no fence, no record, no marker.
        Assert.Equal(Merged(0x11), (byte[]?)await H.Inspect(twin).HashGetAsync(H.BlocksKey, 0));
        Assert.Equal("", await DumpAsync(H.Inspect(wiped)));
        Assert.Single(Serve.StderrLines, l => l.Contains("storageengine-failure", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_engine_with_another_marker_is_never_read_from_or_written_to()
    {
        await WriteThenStopServeAsync();
        var impostor = H.Clusters.Primary[1];
        var db = H.Inspect(impostor);
        await db.StringSetAsync(EngineIdentity.RedisKey, "some-other-engine");
        // Its blocks say something else: a read from it would show.
        foreach (var b in new long[] { 1, 3, 5, 7, 9, 11, 13, 15 }) await db.HashSetAsync(H.BlocksKey, b, Enumerable.Repeat((byte)0xee, 4096).ToArray());
        var before = await DumpAsync(db);

        await StartServeAndExpectFailureAsync(impostor);
        await ReadAndPartiallyWriteAsync();

        Assert.Equal(before, await DumpAsync(db));
        Assert.Equal(Merged(0x22), (byte[]?)await H.Inspect(H.Clusters.Slave[1]).HashGetAsync(H.BlocksKey, 1));
    }

    [Fact]
    public async Task An_engine_without_a_registered_marker_is_failed_and_its_twin_serves()
    {
        await WriteThenStopServeAsync();
        var unregistered = H.Clusters.Slave[1];
        await H.Etcd.DeleteAsync(EtcdKeys.EngineIdentity(unregistered.Address));
        var before = await DumpAsync(H.Inspect(unregistered));

        await StartServeAndExpectFailureAsync(unregistered);
        await ReadAndPartiallyWriteAsync();

        Assert.Equal(before, await DumpAsync(H.Inspect(unregistered)));
        Assert.Equal(Merged(0x22), (byte[]?)await H.Inspect(H.Clusters.Primary[1]).HashGetAsync(H.BlocksKey, 1));
    }

    [Fact]
    public async Task A_vdisk_with_no_registered_marker_at_all_is_refused_with_a_clear_error()
    {
        await WriteThenStopServeAsync();
        foreach (var engine in H.Clusters.Primary.Concat(H.Clusters.Slave)) await H.Etcd.DeleteAsync(EtcdKeys.EngineIdentity(engine.Address));

        Serve = await StartServeAsync();
        await Eventually.UntilAsync(() => Task.FromResult(Serve.Output.Contains("no engine of its clusters has an identity marker registered", StringComparison.Ordinal)),
            "the refusal in the server's log", TimeSpan.FromSeconds(60));
        Assert.DoesNotContain(H.VdiskId, await NbdClients.ListExportsAsync($"nbd://127.0.0.1:{Serve.Port}"));
        Assert.DoesNotContain(Serve.StderrLines, l => l.Contains("storageengine-failure", StringComparison.Ordinal));
    }

    /// <summary>Every key of the engine with its type and content, to show nothing changed.</summary>
    private async Task<string> DumpAsync(IDatabase db)
    {
        var server = db.Multiplexer.GetServer(db.Multiplexer.GetEndPoints()[0]);
        var lines = new List<string>();
        await foreach (var key in server.KeysAsync())
        {
            var dump = await db.KeyDumpAsync(key);
            lines.Add($"{key}={Convert.ToHexString(dump ?? [])}");
        }
        lines.Sort(StringComparer.Ordinal);
        return string.Join('\n', lines);
    }
}
