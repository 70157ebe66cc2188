using System.Text.Json;
using dotnet_etcd;
using Etcdserverpb;
using Google.Protobuf;
using Mvccpb;
using MassTransit;
using Microsoft.Extensions.Logging;
using ZeroDisk.ClusterState.Identity;
using ZeroDisk.ClusterState.Rehearsal;
using ZeroDisk.Contracts;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.ClusterState.Persistence;

/// <summary>
/// One message's unit of work on one saga type: loads instances with their etcd Version and commits a transition
/// as one transaction comparing that Version (0 = absent), the projection's reads and the absence of the
/// processed-MessageId record.
/// </summary>
public sealed class EtcdSagaSession<TSaga>(
    EtcdClient etcd,
    EtcdTxnBatcher batcher,
    ProcessedMessageLease lease,
    IEnumerable<ISagaEtcdProjection<TSaga>> projections,
    ILogger<EtcdSagaSession<TSaga>> logger,
    RehearsalFence? rehearsal = null,
    IgnoringSagaValues<TSaga>? ignoring = null)
    where TSaga : class, ISaga
{
    private static readonly string SagaType = SagaTypeNames.Of<TSaga>();
    private readonly Dictionary<Guid, (long Version, string Json)> _loaded = new();
    private readonly Dictionary<Guid, KeyValue?> _prefetched = new();

    /// <summary>
    /// A start-up rehearsal's session: its transactions are sent but never applied, and count as committed
    /// (<see cref="RehearsalFence"/>). False for every session of the service itself.
    /// </summary>
    public bool IsRehearsal => rehearsal is not null;

    public static string Key(Guid correlationId) => EtcdKeys.Saga(SagaType, correlationId.ToString("D"));

    public static string ProcessedKey(Guid messageId) => EtcdKeys.ProcessedMessage(SagaIds.ProcessedMessage(SagaType, messageId));

    /// <summary>
    /// One round trip for what every message needs first: whether it was processed already and, when the saga id is
    /// known, the saga itself (kept for <see cref="LoadAsync"/>).
    /// </summary>
    /// <summary>
    /// The same, taken from <paramref name="firstRead"/> when the filter in front of the saga made it in this attempt
    /// (not processed then, and the saga as it was).
    /// </summary>
    public Task<bool> WasProcessedAsync(Guid? messageId, Guid? correlationId, FirstSagaRead? firstRead, CancellationToken ct)
    {
        if (firstRead is null || !firstRead.TryTake(messageId, correlationId, out var saga)) return WasProcessedAsync(messageId, correlationId, ct);
        _prefetched[correlationId!.Value] = saga;
        return Task.FromResult(false);
    }

    public async Task<bool> WasProcessedAsync(Guid? messageId, Guid? correlationId, CancellationToken ct)
    {
        var read = new TxnRequest();
        if (messageId is { } id) read.Success.Add(new RequestOp { RequestRange = new RangeRequest { Key = ByteString.CopyFromUtf8(ProcessedKey(id)), CountOnly = true } });
        if (correlationId is { } saga) read.Success.Add(new RequestOp { RequestRange = new RangeRequest { Key = ByteString.CopyFromUtf8(Key(saga)) } });
        if (read.Success.Count == 0) return false;
        var response = await batcher.TransactionAsync(read).WaitAsync(ct); // a burst of messages reads together
        if (correlationId is { } loaded)
            _prefetched[loaded] = response.Responses[^1].ResponseRange.Kvs.FirstOrDefault();
        return messageId is not null && response.Responses[0].ResponseRange.Count > 0;
    }

    /// <summary>
    /// Records a message as processed without running the saga or reading it first, when this process remembers the
    /// instance in a state that ignores the message (<see cref="IgnoringSagaValues{TSaga}"/>): the commit compares the
    /// instance's value with the one remembered. False when nothing is remembered or the compare failed (the instance
    /// moved on, or the message was processed already): <see cref="TryRecordIgnoredAsync"/> then reads and tells which.
    /// </summary>
    public async Task<bool> TryRecordRememberedAsync(Guid messageId, Guid correlationId, CancellationToken ct)
    {
        if (ignoring is null || !ignoring.TryGet(correlationId, out var judged)) return false;
        var unchanged = (await RecordProcessedAsync(new EtcdTransaction(), messageId, ct)).ExpectValue(Key(correlationId), judged);
        if (await CommitAsync(unchanged, t => t.CommitAsync(batcher, ct))) return true;
        ignoring.Forget(correlationId);
        return false;
    }

    /// <summary>
    /// Records a message as processed without running the saga, when the instance, as read now, ignores it
    /// (<see cref="IgnoringSagaValues{TSaga}"/>): the commit compares the instance's Version, so it holds only while the
    /// instance is still the one judged. True also when the message was processed already; false when there is no
    /// instance, it would not ignore the message or the compare failed: then the message runs through the saga as usual.
    /// </summary>
    /// <param name="firstRead">Given the read when the message goes on to the saga because it was neither processed nor ignored.</param>
    public async Task<bool> TryRecordIgnoredAsync(Guid messageId, Guid correlationId, FirstSagaRead firstRead, CancellationToken ct)
    {
        var known = ignoring ?? throw new InvalidOperationException($"{SagaType} has no ignored messages to record");
        if (await WasProcessedAsync(messageId, correlationId, ct)) return true;
        _prefetched.TryGetValue(correlationId, out var kv);
        var saga = kv is null ? null : Deserialize(kv.Value.ToStringUtf8());
        if (saga is null || !known.Ignores(saga))
        {
            firstRead.Set(messageId, correlationId, kv);
            return false;
        }
        // A failed compare below goes on without the read: the saga changed since.
        var transaction = (await RecordProcessedAsync(new EtcdTransaction(), messageId, ct)).ExpectVersion(Key(correlationId), kv!.Version);
        if (!await CommitAsync(transaction, t => t.CommitAsync(batcher, ct))) return false;
        known.Seen(saga, kv.Value);
        return true;
    }

    /// <summary>Adds the processed-MessageId record, written only if absent.</summary>
    private async Task<EtcdTransaction> RecordProcessedAsync(EtcdTransaction transaction, Guid messageId, CancellationToken ct)
    {
        var processed = ProcessedKey(messageId);
        return transaction.ExpectVersion(processed, 0).Put(processed, SagaType, await lease.CurrentAsync(ct));
    }

    /// <summary>Commits, or in a rehearsal sends a transaction that cannot apply and takes it as committed.</summary>
    private async Task<bool> CommitAsync(EtcdTransaction transaction, Func<EtcdTransaction, Task<bool>> commit)
    {
        if (rehearsal is null) return await commit(transaction);
        await commit(rehearsal.Close(transaction));
        return true;
    }

    public async Task<TSaga?> LoadAsync(Guid correlationId, CancellationToken ct)
    {
        var kv = _prefetched.Remove(correlationId, out var prefetched) ? prefetched : await etcd.GetAsync(Key(correlationId), ct);
        if (kv is null) return null;
        var json = kv.Value.ToStringUtf8();
        _loaded[correlationId] = (kv.Version, json);
        return Deserialize(json);
    }

    /// <summary>Writes a new or changed instance; an unchanged one only proves (by compare) that it still is what was read.</summary>
    public async Task CommitAsync(TSaga saga, Guid? messageId, CancellationToken ct)
    {
        var key = Key(saga.CorrelationId);
        var (version, loadedJson) = _loaded.TryGetValue(saga.CorrelationId, out var loaded) ? loaded : (0L, "");
        var json = JsonSerializer.Serialize(saga, ZeroDiskJson.Options);
        var transaction = new EtcdTransaction().ExpectVersion(key, version);
        var changed = json != loadedJson;
        var value = ByteString.CopyFromUtf8(json);
        if (changed)
        {
            transaction.Put(key, value);
            foreach (var projection in projections) await projection.AddToAsync(transaction, saga, ct);
        }
        if (messageId is { } id) await RecordProcessedAsync(transaction, id, ct);
        if (!transaction.HasWrites) return;
        if (!await CommitAsync(transaction, t => t.CommitAsync(etcd, ct)))
        {
            logger.LogDebug("{SagaType} {CorrelationId}: etcd compare failed, retrying from a fresh load", SagaType, saga.CorrelationId);
            // Jitter, so two instances that collided do not collide again on the retry.
            await Task.Delay(Random.Shared.Next(1, 25), ct);
            throw new EtcdSagaConcurrencyException(typeof(TSaga), saga.CorrelationId);
        }
        _loaded[saga.CorrelationId] = (changed ? version + 1 : version, json);
        ignoring?.Seen(saga, value);
    }

    public async Task DeleteAsync(TSaga saga, Guid? messageId, CancellationToken ct)
    {
        var key = Key(saga.CorrelationId);
        var version = _loaded.TryGetValue(saga.CorrelationId, out var loaded) ? loaded.Version : 0;
        var transaction = new EtcdTransaction().ExpectVersion(key, version).Delete(key);
        if (messageId is { } id) await RecordProcessedAsync(transaction, id, ct);
        if (!await CommitAsync(transaction, t => t.CommitAsync(etcd, ct)))
            throw new EtcdSagaConcurrencyException(typeof(TSaga), saga.CorrelationId);
        _loaded.Remove(saga.CorrelationId);
        ignoring?.Forget(saga.CorrelationId);
    }

    public static TSaga Deserialize(string json) =>
        JsonSerializer.Deserialize<TSaga>(json, ZeroDiskJson.Options) ?? throw new JsonException($"{typeof(TSaga).Name} must not be null");
}
