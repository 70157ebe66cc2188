using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using ZeroDisk.Contracts;
using ZeroDisk.NbdHost.Configuration;
using ZeroDisk.Storage;
using ZeroDisk.Storage.Ownership;

namespace ZeroDisk.NbdHost.Serving;

/// <summary>
/// The owner keys this NBD server holds (one writer per vdisk): a VM's server exports a vdisk only while it owns
/// <c>&lt;vdiskID&gt;:vdisk:owner</c> under its lease, so a second <c>serve</c> of the same vdisk, or a serve while a
/// repair job owns it, is refused. A repair-only process claims nothing: the agent that started it holds the key.
/// Each key is held under its own lease, served only up to that lease's local deadline (<see cref="OwnershipOptions"/>).
/// </summary>
public sealed class VdiskOwnerClaims(ServeOptions serve, OwnershipOptions ownership, StorageOptions storage, ILogger<VdiskOwnerClaims> log) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, VdiskOwnerClaim> _claims = new(StringComparer.Ordinal);
    private readonly EtcdGrpc _etcd = new(serve.EtcdEndpoints);

    /// <summary>
    /// The owner epoch when this process may serve the vdisk (it owns it: with the lease it holds the key under; or it
    /// runs a repair for the agent that owns it: the epoch the agent passed, no lease), null when another process owns it.
    /// </summary>
    public async Task<VdiskOwnerTerm?> TryOwnAsync(string vdiskId, CancellationToken ct)
    {
        if (serve.RepairOnly is { } job) return job.VdiskId == vdiskId ? new VdiskOwnerTerm(job.Epoch, null) : null;
        if (_claims.TryGetValue(vdiskId, out var held)) return new VdiskOwnerTerm(held.Owner.Epoch, held.Lease);
        var (claim, holder) = await VdiskOwnership.TryClaimAsync(_etcd, vdiskId, serve.ServerId, VdiskOwnerKind.Vm, ownership.LeaseTtl, log, ct,
            ownership.SafetyMarginFor(storage));
        if (claim is null)
        {
            log.LogError("vdisk {Vdisk} is owned by {Holder} ({Kind}, epoch {Epoch}): refusing to serve it while it is owned elsewhere",
                vdiskId, holder?.Server, holder?.Kind.ToWire(), holder?.Epoch);
            return null;
        }
        _claims[vdiskId] = claim;
        log.LogInformation("vdisk {Vdisk}: owner key taken (epoch {Epoch}, lease {Lease}: TTL {Ttl}, served until {Margin} before it could expire)",
            vdiskId, claim.Owner.Epoch, claim.Lease.Id, claim.Lease.Ttl, claim.Lease.SafetyMargin);
        return new VdiskOwnerTerm(claim.Owner.Epoch, claim.Lease);
    }

    public async Task ReleaseAsync(string vdiskId)
    {
        if (_claims.TryRemove(vdiskId, out var claim)) await claim.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var id in _claims.Keys) await ReleaseAsync(id);
        _etcd.Dispose();
    }
}

/// <summary>What this process serves a vdisk under: its owner epoch, and the lease it holds the owner key by (none in repair-only mode).</summary>
public sealed record VdiskOwnerTerm(long Epoch, IOwnerLease? Lease);
