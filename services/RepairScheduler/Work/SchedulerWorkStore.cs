using dotnet_etcd;
using Etcdserverpb;
using Google.Protobuf;
using ZeroDisk.Contracts;

namespace ZeroDisk.RepairScheduler.Work;

/// <summary>
/// The scheduler's work in etcd, one key per kind and engine: <c>zerodisk/scheduler/&lt;scope&gt;/&lt;kind&gt;/&lt;address&gt;</c>.
/// The scope is the deployment's endpoint prefix, so deployments sharing one etcd (tests, drills) resume only
/// their own work. Updates compare the key's ModRevision, so two instances cannot lose each other's changes.
/// </summary>
public sealed class SchedulerWorkStore(EtcdClient etcd, string scope)
{
    public string Prefix(WorkKind kind) => $"{EtcdKeys.OwnRecordsPrefix}scheduler/{scope}/{kind.ToString().ToLowerInvariant()}/";

    private string Key(WorkKind kind, string address) => Prefix(kind) + address;

    private Task PutAsync(WorkKind kind, WorkRecord record, CancellationToken ct) =>
        etcd.PutAsync(Key(kind, record.Change.Address), ZeroDiskJson.Serialize(record), cancellationToken: ct);

    /// <summary>
    /// Records the work a transition starts and returns the record to run. A record of the same transition (a
    /// redelivery, a republished transition) is kept as it is, with its start time, trace and progress.
    /// </summary>
    public async Task<WorkRecord> RecordAsync(WorkKind kind, StorageEngineStateChanged change, string? traceParent, DateTimeOffset now, CancellationToken ct)
    {
        var existing = await GetAsync(kind, change.Address, ct);
        if (existing is not null && existing.Change.Incident == change.Incident && existing.Change.To == change.To) return existing;
        var record = new WorkRecord { Change = change, TraceParent = traceParent, StartedAt = now };
        await PutAsync(kind, record, ct);
        return record;
    }

    public async Task<WorkRecord?> GetAsync(WorkKind kind, string address, CancellationToken ct) =>
        (await etcd.GetAsync(Key(kind, address), cancellationToken: ct)).Kvs.FirstOrDefault() is { } kv
            ? ZeroDiskJson.Deserialize<WorkRecord>(kv.Value.ToStringUtf8())
            : null;

    public async Task<IReadOnlyList<WorkRecord>> ListAsync(WorkKind kind, CancellationToken ct)
    {
        var records = new List<WorkRecord>();
        foreach (var kv in (await etcd.GetRangeAsync(Prefix(kind), cancellationToken: ct)).Kvs)
        {
            try { records.Add(ZeroDiskJson.Deserialize<WorkRecord>(kv.Value.ToStringUtf8())); }
            catch (System.Text.Json.JsonException) { await etcd.DeleteAsync(kv.Key.ToStringUtf8(), cancellationToken: ct); }
        }
        return records;
    }

    /// <summary>Deletes the record of <paramref name="address"/>, only if it still belongs to <paramref name="incident"/> (null: whatever it is).</summary>
    public Task DeleteAsync(WorkKind kind, string address, string? incident, CancellationToken ct) =>
        UpdateAsync(kind, address, record => incident is null || record.Change.Incident == incident ? null : record, ct);

    /// <summary>
    /// Read-modify-write of one record, retried on a concurrent change. <paramref name="change"/> returns the new
    /// record, the same instance to leave it alone, or null to delete it. Returns the record as it is now.
    /// </summary>
    public async Task<WorkRecord?> UpdateAsync(WorkKind kind, string address, Func<WorkRecord, WorkRecord?> change, CancellationToken ct)
    {
        var key = Key(kind, address);
        while (true)
        {
            var kv = (await etcd.GetAsync(key, cancellationToken: ct)).Kvs.FirstOrDefault();
            if (kv is null) return null;
            var current = ZeroDiskJson.Deserialize<WorkRecord>(kv.Value.ToStringUtf8());
            var next = change(current);
            if (ReferenceEquals(next, current)) return current;
            var txn = new TxnRequest();
            txn.Compare.Add(new Compare
            {
                Key = ByteString.CopyFromUtf8(key), Target = Compare.Types.CompareTarget.Mod,
                Result = Compare.Types.CompareResult.Equal, ModRevision = kv.ModRevision,
            });
            txn.Success.Add(next is null
                ? new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = ByteString.CopyFromUtf8(key) } }
                : new RequestOp { RequestPut = new PutRequest { Key = ByteString.CopyFromUtf8(key), Value = ByteString.CopyFromUtf8(ZeroDiskJson.Serialize(next)) } });
            if ((await etcd.TransactionAsync(txn, cancellationToken: ct)).Succeeded) return next;
        }
    }

    /// <summary>
    /// Whether etcd still has the engine in the state a transition moved it to. An engine etcd does not know (no
    /// cluster lists it) is given the benefit of the doubt; one in another state makes the transition stale.
    /// </summary>
    public async Task<bool> IsCurrentAsync(StorageEngineStateChanged change, CancellationToken ct)
    {
        var kv = (await etcd.GetAsync(EtcdKeys.StorageClusterConfig(change.ClusterId), cancellationToken: ct)).Kvs.FirstOrDefault();
        if (kv is null) return true;
        StorageClusterConfig config;
        try { config = ZeroDiskJson.Deserialize<StorageClusterConfig>(kv.Value.ToStringUtf8()); }
        catch (System.Text.Json.JsonException) { return true; }
        return config.Servers.FirstOrDefault(s => s.Address == change.Address) is not { } server || server.State == change.To;
    }
}
