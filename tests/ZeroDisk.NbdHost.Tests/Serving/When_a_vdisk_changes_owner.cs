using StackExchange.Redis;
using Xunit.Abstractions;
using ZeroDisk.Contracts;
using ZeroDisk.NbdHost.Storage;
using ZeroDisk.NbdHost.Tests.Harness;
using ZeroDisk.ServiceDefaults.Etcd;
using ZeroDisk.Testing;

namespace ZeroDisk.NbdHost.Tests.Serving;

/// <summary>
/// DESIGN §3 invariant 5, with real processes: one writer per vdisk. A second <c>nbdhost serve</c> of a served vdisk
/// does not export it; an old owner frozen (SIGSTOP) until its lease lapsed and a second server took the vdisk over
/// is fenced out by the engines when it runs again: its client gets an error, no engine changes, no engine is
/// reported failed.
/// </summary>
public sealed class When_a_vdisk_changes_owner(ITestOutputHelper output) : ServeProcessTest(output)
{
    private readonly List<ServeProcess> _others = [];

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
        var second = await ServeProcess.StartAsync(secondId, H.EtcdEndpoints);
        _others.Add(second);
        return second;
    }

    private async Task<VdiskOwner?> OwnerAsync() => await H.Etcd.GetJsonAsync<VdiskOwner>(EtcdKeys.VdiskOwner(H.VdiskId)) is { } v ? v.Value : null;

    [Fact]
    public async Task A_second_serve_of_a_served_vdisk_is_refused_and_says_why()
    {
        var second = await StartSecondServerAsync();

        Assert.DoesNotContain(H.VdiskId, await NbdClients.ListExportsAsync($"nbd://127.0.0.1:{second.Port}"));
        Assert.Contains(H.VdiskId, await NbdClients.ListExportsAsync($"nbd://127.0.0.1:{Serve.Port}"));
        Assert.Contains("refusing to serve it while it is owned elsewhere", second.Output);
        Assert.Equal(H.ServerId, (await OwnerAsync())?.Server);
    }

    [Fact]
    public async Task The_old_owner_is_fenced_out_after_a_takeover_and_changes_nothing()
    {
        var oldUri = Serve.Uri(H.VdiskId);
        await NbdClients.QemuIoAsync(oldUri, "write -P 0x11 0 16k");
        var firstEpoch = (await OwnerAsync())!.Epoch;

        // The old owner freezes; its lease lapses; a second server takes the vdisk over with a higher epoch.
        await Serve.PauseAsync();
        try
        {
            await Eventually.UntilAsync(async () => await OwnerAsync() is null, "the frozen owner's lease lapsed", TimeSpan.FromSeconds(30));
            var second = await StartSecondServerAsync();
            var owner = await OwnerAsync();
            Assert.Equal(H.ServerId + "-2", owner?.Server);
            Assert.True(owner!.Epoch > firstEpoch);
            Assert.Contains(H.VdiskId, await NbdClients.ListExportsAsync($"nbd://127.0.0.1:{second.Port}"));
        }
        finally
        {
            await Serve.ContinueAsync();
        }
        var before = await SnapshotAsync();

        // The old owner still thinks it serves the vdisk: its client's write reaches the engines, which refuse it.
        var write = await ExternalProcess.RunAsync("qemu-io", ["-f", "raw", "-c", "write -P 0x66 0 16k", oldUri], TimeSpan.FromMinutes(1));
        Output.WriteLine($"qemu-io exited {write.ExitCode}: {write.StdOut}{write.StdErr}");
        Assert.NotEqual(0, write.ExitCode);
        Assert.Contains("write failed: Input/output error", write.StdOut + write.StdErr);

        Assert.Equal(before, await SnapshotAsync());
        Assert.DoesNotContain(Serve.StderrLines, l => l.Contains("storageengine-failure", StringComparison.Ordinal));
        Assert.Contains("FENCED OUT", Serve.Output);
        await Eventually.UntilAsync(async () => !(await NbdClients.ListExportsAsync($"nbd://127.0.0.1:{Serve.Port}")).Contains(H.VdiskId),
            "the old owner stopped exporting the vdisk");
        // The new owner serves what was acknowledged before the takeover.
        await NbdClients.QemuIoAsync(_others[0].Uri(H.VdiskId), "read -P 0x11 0 16k");
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
