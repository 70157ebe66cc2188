using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using ZeroDisk.Contracts;
using ZeroDisk.NbdHost.Configuration;

namespace ZeroDisk.NbdHost.Ownership;

/// <summary>
/// The owner keys this NBD server holds (DESIGN §3 invariant 5): a VM's server exports a vdisk only while it owns
/// <c>&lt;vdiskID&gt;:vdisk:owner</c> under its lease, so a second <c>serve</c> of the same vdisk, or a serve while a
/// repair job owns it, is refused. A repair-only process claims nothing: the agent that started it holds the key.
/// </summary>
public sealed class VdiskOwnerClaims(ServeOptions serve, ILogger<VdiskOwnerClaims> log) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, VdiskOwnerClaim> _claims = new(StringComparer.Ordinal);
    private readonly EtcdGrpc _etcd = new(serve.EtcdEndpoints);

    public TimeSpan Ttl { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The owner epoch when this process may serve the vdisk (it owns it, or runs a repair for the agent that owns
    /// it: the epoch the agent passed), null when another process owns it.
    /// </summary>
    public async Task<long?> TryOwnAsync(string vdiskId, CancellationToken ct)
    {
        if (serve.RepairOnly is { } job) return job.VdiskId == vdiskId ? job.Epoch : null;
        if (_claims.TryGetValue(vdiskId, out var held)) return held.Owner.Epoch;
        var (claim, holder) = await VdiskOwnership.TryClaimAsync(_etcd, vdiskId, serve.ServerId, VdiskOwnerKind.Vm, Ttl, log, ct);
        if (claim is null)
        {
            log.LogError("vdisk {Vdisk} is owned by {Holder} ({Kind}, epoch {Epoch}): refusing to serve it while it is owned elsewhere",
                vdiskId, holder?.Server, holder?.Kind.ToWire(), holder?.Epoch);
            return null;
        }
        _claims[vdiskId] = claim;
        log.LogInformation("vdisk {Vdisk}: owner key taken (epoch {Epoch})", vdiskId, claim.Owner.Epoch);
        return claim.Owner.Epoch;
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
