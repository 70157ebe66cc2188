using System.Diagnostics;
using Etcdserverpb;
using Google.Protobuf;
using ZeroDisk.Storage.Ownership;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.NbdHost.Tests.Serving;

/// <summary>
/// One writer per vdisk: the owner key of a served vdisk goes away under <c>nbdhost serve</c> (its lease
/// revoked in etcd, as an expiry would do, without freezing the process). The vdisk stops being served before the
/// lease's local deadline: the connected client gets EIO for reads and writes, and then its connection is closed.
/// The key being free, the same server claims the vdisk again with a higher epoch and serves the data it had
/// (docs/DECISIONS.md).
/// </summary>
public sealed class When_the_owner_lease_of_a_served_vdisk_is_lost(ITestOutputHelper output) : ServeProcessTest(output)
{
    protected override IReadOnlyDictionary<string, string> ServeEnvironment => ShortOwnerLease;

    [Fact]
    public async Task It_stops_serving_before_the_deadline_and_claims_the_vdisk_again_with_a_higher_epoch()
    {
        await using var client = await HeldNbdConnection.OpenAsync(Serve.Uri(H.VdiskId));
        using var etcd = new EtcdGrpc(H.EtcdEndpoints);
        var key = (await etcd.Kv.RangeAsync(new RangeRequest { Key = ByteString.CopyFromUtf8(EtcdKeys.VdiskOwner(H.VdiskId)) })).Kvs.Single();
        var first = ZeroDiskJson.Deserialize<VdiskOwner>(key.Value.ToStringUtf8());
        Assert.Equal(H.ServerId, first.Server);

        var revoked = Stopwatch.StartNew();
        await etcd.Leases.LeaseRevokeAsync(new LeaseRevokeRequest { ID = key.Lease });
        string read;
        while ((read = await client.ReadAsync()).StartsWith("read ok", StringComparison.Ordinal))
            Assert.True(revoked.Elapsed < ShortOwnerLeaseHeldSpan + TimeSpan.FromSeconds(2), $"still served {revoked.Elapsed} after the lease was revoked");
        Output.WriteLine($"reads failed {revoked.Elapsed.TotalMilliseconds:0} ms after the revoke: {read}");
        Assert.Matches("^read failed errno (EIO|5): ", read);
        Assert.True(revoked.Elapsed < ShortOwnerLeaseHeldSpan + TimeSpan.FromSeconds(2), $"EIO came only {revoked.Elapsed} after the revoke");
        Assert.Matches("^write failed errno (EIO|5): ", await client.WriteAsync());
        Assert.Contains("FENCED OUT", Serve.Output);
        Assert.Contains("no longer holds its owner lease (etcd reports lease", Serve.Output);

        // The key is free: the next reading of etcd claims it again, under a new lease and a higher epoch.
        var again = await Eventually.ValueAsync(H.OwnerAsync, o => o is not null, TimeSpan.FromSeconds(40));
        Assert.Equal(H.ServerId, again!.Server);
        Assert.True(again.Epoch > first.Epoch, $"epoch {again.Epoch} after {first.Epoch}");
        await Serve.WaitForExportAsync(H.VdiskId, TimeSpan.FromSeconds(30));
        await QemuIoAsync("read -P 0x11 0 16k", "write -P 0x33 0 16k", "read -P 0x33 0 16k");

        // The lost term's connection is closed by the server (a client that reconnects by itself reaches the new term).
        var closed = await client.WaitUntilClosedAsync(TimeSpan.FromSeconds(20));
        Output.WriteLine($"the old connection: {closed}");
        Assert.Contains(H.VdiskId, Serve.Output);
        Assert.Contains("closing the connections still open to it", Serve.Output);
        Assert.DoesNotContain(Serve.StderrLines, l => l.Contains("storageengine-failure", StringComparison.Ordinal));
    }
}
