using Etcdserverpb;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using ZeroDisk.Contracts;

namespace ZeroDisk.Storage.Ownership;

/// <summary>A held <c>&lt;vdiskID&gt;:vdisk:owner</c> key (one writer per vdisk); disposing it releases the vdisk.</summary>
public sealed class VdiskOwnerClaim(string vdiskId, VdiskOwner owner, EtcdLease lease) : IAsyncDisposable
{
    public string VdiskId { get; } = vdiskId;
    public VdiskOwner Owner { get; } = owner;
    public EtcdLease Lease { get; } = lease;

    public ValueTask DisposeAsync() => Lease.DisposeAsync();
}

/// <summary>
/// Claims a vdisk's owner key under a fresh lease: one etcd transaction that succeeds only if the key is absent.
/// The epoch is the etcd revision read just before the claim: the previous owner's epoch was read before its own
/// claim was written, so it is lower than any revision after that write — epochs grow strictly without a counter key.
/// </summary>
public static class VdiskOwnership
{
    public static async Task<VdiskOwner?> ReadAsync(EtcdGrpc etcd, string vdiskId, CancellationToken ct) =>
        (await etcd.GetAsync<VdiskOwner>(EtcdKeys.VdiskOwner(vdiskId), ct))?.Value;

    /// <summary>The claim, or null and the owner that holds the vdisk.</summary>
    public static async Task<(VdiskOwnerClaim? Claim, VdiskOwner? Holder)> TryClaimAsync(EtcdGrpc etcd, string vdiskId, string server,
        VdiskOwnerKind kind, TimeSpan ttl, ILogger logger, CancellationToken ct, TimeSpan safetyMargin = default)
    {
        var key = ByteString.CopyFromUtf8(EtcdKeys.VdiskOwner(vdiskId));
        var current = await etcd.Kv.RangeAsync(new RangeRequest { Key = key }, cancellationToken: ct);
        if (current.Kvs.Count > 0) return (null, ZeroDiskJson.Deserialize<VdiskOwner>(current.Kvs[0].Value.ToStringUtf8()));
        var owner = new VdiskOwner(server, kind, current.Header.Revision);
        var lease = await EtcdLease.GrantAsync(etcd, ttl, logger, ct, safetyMargin);
        var txn = new TxnRequest();
        txn.Compare.Add(new Compare { Key = key, Target = Compare.Types.CompareTarget.Version, Result = Compare.Types.CompareResult.Equal, Version = 0 });
        txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = key, Value = ByteString.CopyFromUtf8(ZeroDiskJson.Serialize(owner)), Lease = lease.Id } });
        txn.Failure.Add(new RequestOp { RequestRange = new RangeRequest { Key = key } });
        var result = await etcd.Kv.TxnAsync(txn, cancellationToken: ct);
        if (result.Succeeded) return (new VdiskOwnerClaim(vdiskId, owner, lease), null);
        await lease.DisposeAsync();
        var holder = result.Responses[0].ResponseRange.Kvs;
        return (null, holder.Count > 0 ? ZeroDiskJson.Deserialize<VdiskOwner>(holder[0].Value.ToStringUtf8()) : null);
    }
}
