using dotnet_etcd;
using Etcdserverpb;
using ZeroDisk.ClusterState.Extensions;

namespace ZeroDisk.ClusterState.Persistence;

/// <summary>
/// The etcd lease processed-MessageId records are attached to, so they expire on their own. One lease serves many
/// records: a new one is granted when the current one has used up a twenty-fourth of its time to live, so a
/// record lives between 23/24 and all of the configured TTL.
/// </summary>
public sealed class ProcessedMessageLease(EtcdClient etcd, ClusterStateOptions options, TimeProvider time)
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private long _leaseId;
    private DateTimeOffset _grantedAt;

    public async Task<long> CurrentAsync(CancellationToken ct)
    {
        var renewAfter = options.ProcessedMessageTtl / 24;
        if (_leaseId != 0 && time.GetUtcNow() - _grantedAt < renewAfter) return _leaseId;
        await _gate.WaitAsync(ct);
        try
        {
            if (_leaseId != 0 && time.GetUtcNow() - _grantedAt < renewAfter) return _leaseId;
            var grant = await etcd.LeaseGrantAsync(new LeaseGrantRequest { TTL = (long)options.ProcessedMessageTtl.TotalSeconds }, cancellationToken: ct);
            _grantedAt = time.GetUtcNow();
            _leaseId = grant.ID;
            return _leaseId;
        }
        finally
        {
            _gate.Release();
        }
    }
}
