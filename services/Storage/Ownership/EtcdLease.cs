using System.Diagnostics;
using Etcdserverpb;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace ZeroDisk.Storage.Ownership;

/// <summary>
/// An etcd lease kept alive over the keep-alive stream, held until a local deadline: the moment the last
/// acknowledged keep-alive was <em>sent</em>, plus the TTL, minus <see cref="SafetyMargin"/>. etcd started that TTL
/// no earlier than the send, so it cannot expire the lease (and hand its keys to someone else) before
/// deadline + margin, whatever the network delays. <see cref="Lost"/> fires at that deadline, or when etcd reports
/// the lease gone (expired, revoked): whatever it held (an owner key) must no longer be acted on.
/// Disposing it revokes it, which deletes its keys at once.
/// </summary>
public sealed class EtcdLease : IAsyncDisposable, IOwnerLease
{
    private readonly EtcdGrpc _etcd;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly CancellationTokenSource _lost = new();
    private readonly Task _keepAlive;
    private readonly Task _deadlineWatch;
    private long _heldUntil; // Stopwatch timestamp
    private string? _lapse;

    private EtcdLease(EtcdGrpc etcd, long id, TimeSpan ttl, TimeSpan safetyMargin, long grantSent, ILogger logger)
    {
        _etcd = etcd;
        Id = id;
        Ttl = ttl;
        SafetyMargin = safetyMargin;
        _logger = logger;
        _heldUntil = grantSent + Ticks(ttl - safetyMargin);
        _keepAlive = KeepAliveAsync();
        _deadlineWatch = WatchDeadlineAsync();
    }

    public long Id { get; }
    public TimeSpan Ttl { get; }

    /// <summary>How long before etcd could expire the lease this process stops acting on it.</summary>
    public TimeSpan SafetyMargin { get; }

    /// <summary>Cancelled at the local deadline or when etcd reports the lease gone; <see cref="LapseReason"/> says which.</summary>
    public CancellationToken Lost => _lost.Token;

    /// <summary>True until the local deadline (checked against the clock, so a frozen process that resumes knows at once).</summary>
    public bool IsHeld => Volatile.Read(ref _lapse) is null && Stopwatch.GetTimestamp() < Volatile.Read(ref _heldUntil);

    /// <summary>Why the lease is no longer held, or null while it is.</summary>
    public string? LapseReason
    {
        get
        {
            if (Volatile.Read(ref _lapse) is { } lapse) return lapse;
            var late = Stopwatch.GetElapsedTime(Volatile.Read(ref _heldUntil));
            return late < TimeSpan.Zero ? null : DeadlineReason(late);
        }
    }

    /// <param name="safetyMargin">Zero: held for the whole TTL after the last acknowledged keep-alive was sent.</param>
    public static async Task<EtcdLease> GrantAsync(EtcdGrpc etcd, TimeSpan ttl, ILogger logger, CancellationToken ct, TimeSpan safetyMargin = default)
    {
        if (safetyMargin < TimeSpan.Zero || safetyMargin >= ttl)
            throw new ArgumentOutOfRangeException(nameof(safetyMargin), safetyMargin, $"must be at least 0 and below the TTL ({ttl})");
        var sent = Stopwatch.GetTimestamp();
        var response = await etcd.Leases.LeaseGrantAsync(new LeaseGrantRequest { TTL = (long)Math.Ceiling(ttl.TotalSeconds) }, cancellationToken: ct);
        // etcd may grant more than asked (its minimum TTL); counting from the asked TTL is on the safe side.
        return new EtcdLease(etcd, response.ID, ttl, safetyMargin, sent, logger);
    }

    private static long Ticks(TimeSpan span) => (long)(span.TotalSeconds * Stopwatch.Frequency);

    private string DeadlineReason(TimeSpan late) =>
        $"etcd lease {Id} not renewed in time: no keep-alive acknowledged for one sent in the last {(Ttl - SafetyMargin).TotalSeconds:0.###} s " +
        $"(TTL {Ttl.TotalSeconds:0.###} s, safety margin {SafetyMargin.TotalSeconds:0.###} s; deadline passed {late.TotalMilliseconds:0} ms ago)";

    /// <summary>Keep-alives three times per held span, so two may fail before the deadline.</summary>
    private TimeSpan Interval => (Ttl - SafetyMargin) / 3;

    private async Task KeepAliveAsync()
    {
        while (!_stop.IsCancellationRequested && Volatile.Read(ref _lapse) is null)
        {
            try
            {
                using var call = _etcd.Leases.LeaseKeepAlive(cancellationToken: _stop.Token);
                while (!_stop.IsCancellationRequested)
                {
                    var sent = Stopwatch.GetTimestamp();
                    await call.RequestStream.WriteAsync(new LeaseKeepAliveRequest { ID = Id });
                    if (!await call.ResponseStream.MoveNext(_stop.Token)) break;
                    if (call.ResponseStream.Current.TTL <= 0)
                    {
                        Lose($"etcd reports lease {Id} gone (expired or revoked)");
                        return;
                    }
                    // Only ever forward: a late answer to an older keep-alive must not move the deadline back.
                    var heldUntil = sent + Ticks(Ttl - SafetyMargin);
                    if (heldUntil > Volatile.Read(ref _heldUntil) && IsHeld) Volatile.Write(ref _heldUntil, heldUntil);
                    await Task.Delay(Interval, _stop.Token);
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
            await Task.Delay(TimeSpan.FromMilliseconds(200), _stop.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>Fires <see cref="Lost"/> at the deadline: a keep-alive stream that hangs must not keep the holder going.</summary>
    private async Task WatchDeadlineAsync()
    {
        while (!_stop.IsCancellationRequested && Volatile.Read(ref _lapse) is null)
        {
            var left = -Stopwatch.GetElapsedTime(Volatile.Read(ref _heldUntil));
            if (left <= TimeSpan.Zero)
            {
                Lose(DeadlineReason(-left));
                return;
            }
            await Task.Delay(left + TimeSpan.FromMilliseconds(1), _stop.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private void Lose(string reason)
    {
        if (Interlocked.CompareExchange(ref _lapse, reason, null) is not null) return;
        _logger.LogWarning("{Reason}: no longer acting on what it holds", reason);
        // Callbacks run on the thread pool: a holder that disposes the lease from its callback must not wait on this task.
        _ = _lost.CancelAsync();
    }

    /// <summary>Stops the keep-alive and revokes the lease (its keys vanish now, not after the TTL).</summary>
    public async ValueTask DisposeAsync()
    {
        if (_stop.IsCancellationRequested) return;
        await _stop.CancelAsync();
        await _keepAlive.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await _deadlineWatch.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        try
        {
            // Bounded: a holder drops its lease when etcd is unreachable, too, and must not hang on it.
            await _etcd.Leases.LeaseRevokeAsync(new LeaseRevokeRequest { ID = Id }, deadline: DateTime.UtcNow.AddSeconds(5));
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound)
        {
            // Expired or revoked already: its keys are gone.
        }
        catch (RpcException ex)
        {
            _logger.LogWarning("etcd lease {Lease} not revoked ({Reason}); it expires after its TTL", Id, ex.Status.Detail);
        }
        _stop.Dispose();
        // _lost stays undisposed: its token may still be registered on (a vdisk closing) or read after this.
    }
}
