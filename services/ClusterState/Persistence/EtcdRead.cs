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
    /// with its value. The 0-Disk layout puts the id first, so there is no common prefix to range over; keys are
    /// listed first (keys only) and the matching values read in one request per key.
    /// </summary>
    public static async Task<IReadOnlyList<KeyValue>> ScanSuffixAsync(this EtcdClient etcd, string scope, string suffix, CancellationToken ct)
    {
        var range = new RangeRequest { KeysOnly = true };
        if (scope.Length == 0)
        {
            range.Key = ByteString.CopyFrom([0]);
            range.RangeEnd = ByteString.CopyFrom([0]);
        }
        else
        {
            range.Key = ByteString.CopyFromUtf8(scope);
            range.RangeEnd = ByteString.CopyFrom(EtcdWatch.PrefixEnd(scope));
        }
        var keys = await etcd.GetAsync(range, cancellationToken: ct);
        var matches = keys.Kvs.Select(kv => kv.Key.ToStringUtf8()).Where(k => k.EndsWith(suffix, StringComparison.Ordinal)).ToList();
        var values = await Task.WhenAll(matches.Select(k => etcd.GetAsync(k, ct)));
        return values.Where(v => v is not null).Select(v => v!).ToList();
    }
}
