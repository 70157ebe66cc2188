using dotnet_etcd;
using Etcdserverpb;
using Google.Protobuf;

namespace ZeroDisk.ClusterState.Persistence;

/// <summary>
/// Compares and writes collected for one etcd transaction: every effect of a saga transition (saga key, engine
/// state, cluster status, processed-MessageId record) commits together or not at all.
/// </summary>
public sealed class EtcdTransaction
{
    private readonly TxnRequest _request = new();

    public bool HasWrites => _request.Success.Count > 0;

    /// <summary>The request as built so far.</summary>
    public TxnRequest Request => _request;

    /// <summary>The key's Version must still be what was read (0 = absent).</summary>
    public EtcdTransaction ExpectVersion(string key, long version)
    {
        _request.Compare.Add(new Compare
        {
            Key = ByteString.CopyFromUtf8(key),
            Target = Compare.Types.CompareTarget.Version,
            Result = Compare.Types.CompareResult.Equal,
            Version = version,
        });
        return this;
    }

    /// <summary>The key must not have changed since it was read at <paramref name="modRevision"/> (0 = absent).</summary>
    public EtcdTransaction ExpectModRevision(string key, long modRevision)
    {
        _request.Compare.Add(new Compare
        {
            Key = ByteString.CopyFromUtf8(key),
            Target = Compare.Types.CompareTarget.Mod,
            Result = Compare.Types.CompareResult.Equal,
            ModRevision = modRevision,
        });
        return this;
    }

    public EtcdTransaction ExpectValue(string key, string value) => ExpectValue(key, ByteString.CopyFromUtf8(value));

    public EtcdTransaction ExpectValue(string key, ByteString value)
    {
        _request.Compare.Add(new Compare
        {
            Key = ByteString.CopyFromUtf8(key),
            Target = Compare.Types.CompareTarget.Value,
            Result = Compare.Types.CompareResult.Equal,
            Value = value,
        });
        return this;
    }

    public EtcdTransaction Put(string key, string value, long lease = 0) => Put(key, ByteString.CopyFromUtf8(value), lease);

    public EtcdTransaction Put(string key, ByteString value, long lease = 0)
    {
        _request.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = ByteString.CopyFromUtf8(key), Value = value, Lease = lease } });
        return this;
    }

    public EtcdTransaction Delete(string key)
    {
        _request.Success.Add(new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = ByteString.CopyFromUtf8(key) } });
        return this;
    }

    /// <summary>True when every compare held and the writes were applied; committed together with others (<see cref="EtcdTxnBatcher"/>).</summary>
    public async Task<bool> CommitAsync(EtcdTxnBatcher batcher, CancellationToken ct) => (await batcher.TransactionAsync(_request).WaitAsync(ct)).Succeeded;

    /// <summary>True when every compare held and the writes were applied.</summary>
    public async Task<bool> CommitAsync(EtcdClient etcd, CancellationToken ct)
    {
        var response = await etcd.TransactionAsync(_request, cancellationToken: ct);
        return response.Succeeded;
    }
}
