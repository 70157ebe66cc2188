using System.Text.Json;
using dotnet_etcd;
using Etcdserverpb;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using ZeroDisk.Contracts;

namespace ZeroDisk.RepairScheduler.Restarts;

/// <summary>
/// The durable record that one process exit was acted on (the collector delivers at least once): <c>zerodisk/restarts/&lt;node&gt;/&lt;role&gt;/&lt;id&gt;/…</c>,
/// keyed by the exit itself (pid and kernel start time, from the agent's line) or, for a line without them, by the
/// MessageId (the collector's id of the line, the same on every redelivery). A claim is taken in one etcd
/// transaction (create if absent) as <c>pending</c>, then marked <c>done</c> once the restart was sent; a duplicate
/// finds it and does nothing. A <c>pending</c> claim older than <see cref="PendingTimeout"/> belongs to a scheduler
/// that died between the claim and the send: it is taken over, so a crash costs at most one repeated restart, never
/// a lost one. A restart that waits out a crash-loop backoff is <c>delayed</c>: the claim holds when it is due and
/// the exit to restart, so it outlives the scheduler that deferred it (<see cref="DelayedRestarts"/>); a duplicate
/// report finds it and does nothing. Records expire with a shared 24 h lease.
/// </summary>
/// <param name="scope">The deployment's endpoint prefix: a scheduler resumes only the delayed restarts of its own deployment.</param>
public sealed class RestartClaims(EtcdClient etcd, TimeProvider time, ILogger<RestartClaims> logger, string scope = "default")
{
    public const string KeyPrefix = EtcdKeys.OwnRecordsPrefix + "restarts/";
    public static readonly TimeSpan PendingTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Retention = TimeSpan.FromHours(24);
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(200);
    private const string Pending = "pending";
    private const string Done = "done";
    private const string Delayed = "delayed";

    private readonly SemaphoreSlim _leaseGate = new(1, 1);
    private long _leaseId;
    private DateTimeOffset _leaseGrantedAt;

    /// <summary>The key naming this exit, or null when nothing identifies it (then every report is acted on).</summary>
    public static string? KeyOf(ProcessExited exited, Guid? messageId)
    {
        var process = $"{KeyPrefix}{exited.Source.Node}/{exited.Role.ToWire()}/{exited.Id}/";
        if (exited.Pid is { } pid) return $"{process}exit-{pid}-{exited.StartTime ?? 0}";
        return messageId is { } id ? $"{process}message-{id:N}" : null;
    }

    /// <summary>True when this caller owns the exit and must act on it; false for a duplicate already handled.</summary>
    public async Task<bool> TryClaimAsync(string key, CancellationToken ct)
    {
        while (true)
        {
            var lease = await LeaseAsync(ct);
            var claim = Value(Pending);
            var create = new TxnRequest();
            create.Compare.Add(new Compare { Key = Utf8(key), Target = Compare.Types.CompareTarget.Version, Result = Compare.Types.CompareResult.Equal, Version = 0 });
            create.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = Utf8(key), Value = Utf8(claim), Lease = lease } });
            create.Failure.Add(new RequestOp { RequestRange = new RangeRequest { Key = Utf8(key) } });
            var response = await etcd.TransactionAsync(create, cancellationToken: ct);
            if (response.Succeeded) return true;
            var kvs = response.Responses[0].ResponseRange.Kvs;
            if (kvs.Count == 0) continue; // expired in between
            var existing = JsonSerializer.Deserialize<ClaimValue>(kvs[0].Value.ToStringUtf8())!;
            if (existing.State is Done or Delayed) return false;
            if (time.GetUtcNow() - existing.At < PendingTimeout)
            {
                // Another consumer is acting on this exit right now: wait for its outcome.
                await Task.Delay(PollInterval, time, ct);
                continue;
            }
            logger.LogWarning("restart claim {Key} was left pending at {At} (its scheduler died before sending?); taking it over", key, existing.At);
            var takeover = new TxnRequest();
            takeover.Compare.Add(new Compare { Key = Utf8(key), Target = Compare.Types.CompareTarget.Mod, Result = Compare.Types.CompareResult.Equal, ModRevision = kvs[0].ModRevision });
            takeover.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = Utf8(key), Value = Utf8(claim), Lease = lease } });
            if ((await etcd.TransactionAsync(takeover, cancellationToken: ct)).Succeeded) return true;
        }
    }

    /// <summary>The restart was sent: every later report of this exit is a duplicate.</summary>
    public async Task CompleteAsync(string key, CancellationToken ct) =>
        await etcd.PutAsync(new PutRequest { Key = Utf8(key), Value = Utf8(Value(Done)), Lease = await LeaseAsync(ct) }, cancellationToken: ct);

    /// <summary>Acting failed: let the redelivery claim it again.</summary>
    public async Task AbandonAsync(string key, CancellationToken ct) => await etcd.DeleteAsync(key, cancellationToken: ct);

    /// <summary>
    /// The restart of this exit waits until <paramref name="due"/>: recorded with the exit itself, so whichever scheduler
    /// is alive then can send it. Returns the record's revision: the caller's proof that the deferral is still its own.
    /// </summary>
    public async Task<long> DeferAsync(string key, ProcessExited exited, DateTimeOffset due, CancellationToken ct)
    {
        var value = JsonSerializer.Serialize(new ClaimValue(Delayed, time.GetUtcNow(), due, exited, scope));
        var put = await etcd.PutAsync(new PutRequest { Key = Utf8(key), Value = Utf8(value), Lease = await LeaseAsync(ct) }, cancellationToken: ct);
        return put.Header.Revision;
    }

    /// <summary>
    /// Takes a deferred restart to send it (it becomes <c>pending</c>, with the exit, until <see cref="CompleteAsync"/>).
    /// Its owner, which knows the revision it wrote, takes it once due; anyone else only once the owner has had
    /// <see cref="PendingTimeout"/> more and did not (it died), or when a send was left pending that long. One etcd
    /// transaction on the record's revision: of two takers, one wins. Null when it is not this caller's to send.
    /// </summary>
    public async Task<ProcessExited?> TryTakeDeferredAsync(string key, long? ownRevision, CancellationToken ct)
    {
        var kv = (await etcd.GetAsync(key, cancellationToken: ct)).Kvs.FirstOrDefault();
        if (kv is null) return null;
        var claim = JsonSerializer.Deserialize<ClaimValue>(kv.Value.ToStringUtf8())!;
        if (claim.Exited is null) return null;
        var now = time.GetUtcNow();
        var takeable = claim.State switch
        {
            Delayed => ownRevision == kv.ModRevision ? now >= claim.Due : now >= claim.Due + PendingTimeout,
            Pending => now - claim.At >= PendingTimeout,
            _ => false,
        };
        if (!takeable) return null;
        var take = new TxnRequest();
        take.Compare.Add(new Compare { Key = Utf8(key), Target = Compare.Types.CompareTarget.Mod, Result = Compare.Types.CompareResult.Equal, ModRevision = kv.ModRevision });
        var sending = JsonSerializer.Serialize(claim with { State = Pending, At = now });
        take.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = Utf8(key), Value = Utf8(sending), Lease = await LeaseAsync(ct) } });
        if (!(await etcd.TransactionAsync(take, cancellationToken: ct)).Succeeded) return null;
        if (ownRevision != kv.ModRevision)
            logger.LogWarning("restart claim {Key} ({State} since {At}) was left by a scheduler that did not send it; taking it over", key, claim.State, claim.At);
        return claim.Exited;
    }

    /// <summary>The deferred restarts of this deployment not yet sent: those a scheduler that died left behind.</summary>
    public async Task<IReadOnlyList<DeferredRestart>> ListDeferredAsync(CancellationToken ct)
    {
        var records = await etcd.GetRangeValAsync(KeyPrefix, cancellationToken: ct);
        var deferred = new List<DeferredRestart>();
        foreach (var (key, value) in records)
        {
            var claim = JsonSerializer.Deserialize<ClaimValue>(value)!;
            if (claim.Exited is null || claim.Scope != scope || claim.State is not (Delayed or Pending)) continue;
            deferred.Add(new DeferredRestart(key, claim.Exited, (claim.State == Delayed ? claim.Due ?? claim.At : claim.At) + PendingTimeout));
        }
        return deferred;
    }

    private string Value(string state) => JsonSerializer.Serialize(new ClaimValue(state, time.GetUtcNow()));

    private async Task<long> LeaseAsync(CancellationToken ct)
    {
        // One lease serves many records; renewed hourly, so a record lives between 23 and 24 hours.
        if (_leaseId != 0 && time.GetUtcNow() - _leaseGrantedAt < TimeSpan.FromHours(1)) return _leaseId;
        await _leaseGate.WaitAsync(ct);
        try
        {
            if (_leaseId != 0 && time.GetUtcNow() - _leaseGrantedAt < TimeSpan.FromHours(1)) return _leaseId;
            _leaseId = (await etcd.LeaseGrantAsync(new LeaseGrantRequest { TTL = (long)Retention.TotalSeconds }, cancellationToken: ct)).ID;
            _leaseGrantedAt = time.GetUtcNow();
            return _leaseId;
        }
        finally
        {
            _leaseGate.Release();
        }
    }

    private static ByteString Utf8(string text) => ByteString.CopyFromUtf8(text);

    internal sealed record ClaimValue(string State, DateTimeOffset At, DateTimeOffset? Due = null, ProcessExited? Exited = null, string? Scope = null);
}
