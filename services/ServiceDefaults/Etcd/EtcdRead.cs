using dotnet_etcd;
using Etcdserverpb;
using Google.Protobuf;
using Mvccpb;

namespace ZeroDisk.ServiceDefaults.Etcd;

/// <summary>Raw reads ClusterState and zdctl share: a key with its revisions, two keys at one revision, a prefix.</summary>
public static class EtcdRead
{
    public static async Task<KeyValue?> GetAsync(this EtcdClient etcd, string key, CancellationToken ct)
    {
        var response = await etcd.GetAsync(new RangeRequest { Key = ByteString.CopyFromUtf8(key) }, cancellationToken: ct);
        return response.Kvs.Count == 0 ? null : response.Kvs[0];
    }

    /// <summary>Two keys read at one revision in one round trip.</summary>
    public static async Task<(KeyValue? First, KeyValue? Second)> GetTwoAsync(this EtcdClient etcd, string first, string second, CancellationToken ct)
    {
        var read = new TxnRequest
        {
            Success =
            {
                new RequestOp { RequestRange = new RangeRequest { Key = ByteString.CopyFromUtf8(first) } },
                new RequestOp { RequestRange = new RangeRequest { Key = ByteString.CopyFromUtf8(second) } },
            },
        };
        var response = await etcd.TransactionAsync(read, cancellationToken: ct);
        return (response.Responses[0].ResponseRange.Kvs.FirstOrDefault(), response.Responses[1].ResponseRange.Kvs.FirstOrDefault());
    }

    public static async Task<IReadOnlyList<KeyValue>> GetPrefixAsync(this EtcdClient etcd, string prefix, CancellationToken ct)
    {
        var response = await etcd.GetAsync(new RangeRequest
        {
            Key = ByteString.CopyFromUtf8(prefix),
            RangeEnd = ByteString.CopyFrom(EtcdWatch.PrefixEnd(prefix)),
        }, cancellationToken: ct);
        return response.Kvs;
    }
}
