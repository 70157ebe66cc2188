using dotnet_etcd;
using Etcdserverpb;
using Google.Protobuf;
using Mvccpb;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.ClusterState.Persistence;

/// <summary>Raw reads the sagas and the admin API share: a key with its revisions, a prefix, a scan by key suffix.</summary>
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

    /// <summary>
    /// Every key under <paramref name="scope"/> (the whole key space when empty) ending with <paramref name="suffix"/>,
    /// with its value. The 0-Disk layout puts the id first, so there is no common prefix to range over: the range is
    /// read in pages and filtered here.
    /// </summary>
    public static async Task<IReadOnlyList<KeyValue>> ScanSuffixAsync(this EtcdClient etcd, string scope, string suffix, CancellationToken ct)
    {
        const int PageSize = 1000;
        var end = scope.Length == 0 ? ByteString.CopyFrom([0]) : ByteString.CopyFrom(EtcdWatch.PrefixEnd(scope));
        var from = scope.Length == 0 ? ByteString.CopyFrom([0]) : ByteString.CopyFromUtf8(scope);
        var matches = new List<KeyValue>();
        var suffixBytes = System.Text.Encoding.UTF8.GetBytes(suffix);
        long revision = 0;
        while (true)
        {
            // One revision for every page, so the pages form one consistent snapshot.
            var page = await etcd.GetAsync(new RangeRequest { Key = from, RangeEnd = end, Limit = PageSize, Revision = revision }, cancellationToken: ct);
            revision = page.Header.Revision;
            matches.AddRange(page.Kvs.Where(kv => kv.Key.Span.EndsWith(suffixBytes)));
            if (!page.More || page.Kvs.Count == 0) return matches;
            from = ByteString.CopyFrom([.. page.Kvs[^1].Key.Span, 0]);
        }
    }
}
