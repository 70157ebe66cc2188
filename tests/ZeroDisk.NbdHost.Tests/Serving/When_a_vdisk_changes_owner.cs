using StackExchange.Redis;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.NbdHost.Tests.Serving;

/// <summary>
/// One writer per vdisk, with real processes. A second <c>nbdhost serve</c> of a served vdisk
/// does not export it. An old owner frozen (SIGSTOP) until its lease lapsed, while a second server took the vdisk
/// over and wrote, stops serving it the moment it runs again: its client, connected all along, gets EIO
/// for reads (no stale data) and writes, then its connection is closed; no engine changes, no engine is reported failed.
/// </summary>
public sealed class When_a_vdisk_changes_owner(ITestOutputHelper output) : ServeProcessTest(output)
{
    private readonly List<ServeProcess> _others = [];

    protected override IReadOnlyDictionary<string, string> ServeEnvironment => ShortOwnerLease;

    public override async Task DisposeAsync()
    {
        foreach (var other in _others) await StopAndLogAsync(other, "the second nbdhost serve");
        await H.Etcd.DeleteRangeAsync(H.ServerId + "-2");
        await base.DisposeAsync();
    }

    /// <summary>A second NBD server that lists the same vdisk.</summary>
    private async Task<ServeProcess> StartSecondServerAsync()
    {
        var secondId = H.ServerId + "-2";
        await H.Etcd.PutJsonAsync(EtcdKeys.NbdServerVdisks(secondId), new NbdServerVdisksConfig([H.VdiskId]));
        var second = await ServeProcess.StartAsync(secondId, H.EtcdEndpoints, environment: ServeEnvironment);
        _others.Add(second);
        return second;
    }


    [Fact]
    public async Task A_second_serve_of_a_served_vdisk_is_refused_and_says_why()
    {
        var second = await StartSecondServerAsync();

        Assert.DoesNotContain(H.VdiskId, await NbdClients.ListExportsAsync($"nbd://127.0.0.1:{second.Port}"));
        Assert.Contains(H.VdiskId, await NbdClients.ListExportsAsync($"nbd://127.0.0.1:{Serve.Port}"));
        Assert.Contains("refusing to serve it while it is owned elsewhere", second.Output);
        Assert.Equal(H.ServerId, (await H.OwnerAsync())?.Server);
    }

    [Fact]
    public async Task The_old_owner_answers_eio_after_a_takeover_and_the_data_is_the_new_owners()
    {
        await using var oldClient = await HeldNbdConnection.OpenAsync(Serve.Uri(H.VdiskId));
        Assert.Equal("read ok 11", await oldClient.ReadAsync());
        var firstEpoch = (await H.OwnerAsync())!.Epoch;

        // The old owner freezes; its lease lapses; a second server takes the vdisk over with a higher epoch and writes.
        ServeProcess second;
        await Serve.PauseAsync();
        try
        {
            await Eventually.UntilAsync(async () => await H.OwnerAsync() is null, "the frozen owner's lease lapsed", TimeSpan.FromSeconds(30));
            second = await StartSecondServerAsync();
            var owner = await H.OwnerAsync();
            Assert.Equal(H.ServerId + "-2", owner?.Server);
            Assert.True(owner!.Epoch > firstEpoch);
            await NbdClients.QemuIoAsync(second.Uri(H.VdiskId), "read -P 0x11 0 16k", "write -P 0x77 0 16k");
        }
        finally
        {
            await Serve.ContinueAsync();
        }
        var before = await SnapshotAsync();

        // The old owner's client, connected all along: no stale read, no write, although its process still runs.
        Assert.Matches("^read failed errno (EIO|5): ", await oldClient.ReadAsync());
        Assert.Matches("^write failed errno (EIO|5): ", await oldClient.WriteAsync());
        Output.WriteLine($"the old connection: {await oldClient.WaitUntilClosedAsync(TimeSpan.FromSeconds(20))}");

        Assert.Equal(before, await SnapshotAsync());
        await NbdClients.QemuIoAsync(second.Uri(H.VdiskId), "read -P 0x77 0 16k");
        for (var block = 0L; block < HeldNbdConnection.Length / H.BlockSize; block++)
            foreach (var engine in new[] { H.Clusters.Primary[(int)(block % 2)], H.Clusters.Slave[(int)(block % 2)] })
            {
                var stored = (byte[]?)await H.Inspect(engine).HashGetAsync(H.BlocksKey, block);
                Assert.True(stored is not null && stored.All(b => b == 0x77), $"block {block} on {engine.Address} is the new owner's");
            }
        Assert.DoesNotContain(Serve.StderrLines, l => l.Contains("storageengine-failure", StringComparison.Ordinal));
        Assert.Contains("FENCED OUT", Serve.Output);
        Assert.Contains("no longer holds its owner lease", Serve.Output);
        await Eventually.UntilAsync(async () => !(await NbdClients.ListExportsAsync($"nbd://127.0.0.1:{Serve.Port}")).Contains(H.VdiskId),
            "the old owner stopped exporting the vdisk");
        Assert.Equal(H.ServerId + "-2", (await H.OwnerAsync())?.Server);
    }

    /// <summary>Every block and dirty set of the vdisk on every engine, as one comparable string.</summary>
    private async Task<string> SnapshotAsync()
    {
        var parts = new List<string>();
        foreach (var engine in H.Clusters.Primary.Concat(H.Clusters.Slave))
        {
            var db = H.Inspect(engine);
            var blocks = await db.HashGetAllAsync(H.BlocksKey);
            parts.AddRange(blocks.OrderBy(e => (long)e.Name).Select(e => $"{engine.Address} {e.Name} {Convert.ToHexString((byte[])e.Value!)}"));
            foreach (var other in H.Clusters.Primary.Concat(H.Clusters.Slave))
                parts.AddRange((await db.SetMembersAsync(H.DirtyKey(other))).Select(m => $"{engine.Address} dirty {other.Address} {m}"));
        }
        return string.Join('\n', parts);
    }
}
