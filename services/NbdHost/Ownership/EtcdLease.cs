using Etcdserverpb;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace ZeroDisk.NbdHost.Ownership;

/// <summary>
/// An etcd lease kept alive every TTL/3 over the keep-alive stream. <see cref="Lost"/> fires when etcd reports it
/// expired or no keep-alive got through for a whole TTL: whatever it held (an owner key) is no longer ours.
/// Disposing it revokes it, which deletes its keys at once.
/// </summary>
public sealed class EtcdLease : IAsyncDisposable
{
    private readonly EtcdGrpc _etcd;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly CancellationTokenSource _lost = new();
    private readonly Task _keepAlive;

    private EtcdLease(EtcdGrpc etcd, long id, TimeSpan ttl, ILogger logger)
    {
        _etcd = etcd;
        Id = id;
        Ttl = ttl;
        _logger = logger;
        _keepAlive = KeepAliveAsync();
    }

    public long Id { get; }
    public TimeSpan Ttl { get; }
    public CancellationToken Lost => _lost.Token;

    public static async Task<EtcdLease> GrantAsync(EtcdGrpc etcd, TimeSpan ttl, ILogger logger, CancellationToken ct)
    {
        var response = await etcd.Leases.LeaseGrantAsync(new LeaseGrantRequest { TTL = (long)Math.Ceiling(ttl.TotalSeconds) }, cancellationToken: ct);
        return new EtcdLease(etcd, response.ID, TimeSpan.FromSeconds(response.TTL), logger);
    }

    private async Task KeepAliveAsync()
    {
        var lastRenewed = DateTime.UtcNow;
        var interval = Ttl / 3;
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                using var call = _etcd.Leases.LeaseKeepAlive(cancellationToken: _stop.Token);
                while (!_stop.IsCancellationRequested)
                {
                    await call.RequestStream.WriteAsync(new LeaseKeepAliveRequest { ID = Id });
                    if (!await call.ResponseStream.MoveNext(_stop.Token)) break;
                    if (call.ResponseStream.Current.TTL <= 0)
                    {
                        _logger.LogWarning("etcd lease {Lease} expired", Id);
                        await _lost.CancelAsync();
                        return;
                    }
                    lastRenewed = DateTime.UtcNow;
                    await Task.Delay(interval, _stop.Token);
                }
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (RpcException ex)
            {
                _logger.LogWarning("etcd lease {Lease} keep-alive failed: {Reason}", Id, ex.Status.Detail);
            }
            if (DateTime.UtcNow - lastRenewed > Ttl)
            {
                await _lost.CancelAsync();
                return;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(200), _stop.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>Stops the keep-alive and revokes the lease (its keys vanish now, not after the TTL).</summary>
    public async ValueTask DisposeAsync()
    {
        if (_stop.IsCancellationRequested) return;
        await _stop.CancelAsync();
        await _keepAlive.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        try
        {
            await _etcd.Leases.LeaseRevokeAsync(new LeaseRevokeRequest { ID = Id });
        }
        catch (RpcException ex)
        {
            _logger.LogWarning("etcd lease {Lease} not revoked ({Reason}); it expires after its TTL", Id, ex.Status.Detail);
        }
        _stop.Dispose();
        _lost.Dispose();
    }
}
