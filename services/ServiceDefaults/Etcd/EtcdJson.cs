using dotnet_etcd;
using Google.Protobuf;
using ZeroDisk.Contracts;

namespace ZeroDisk.ServiceDefaults.Etcd;

/// <summary>Typed reads and writes of the JSON values of the etcd layout (<see cref="Contracts.EtcdKeys"/>).</summary>
public static class EtcdJson
{
    /// <summary>The value and its ModRevision/Version, or null when the key is absent.</summary>
    public static async Task<EtcdValue<T>?> GetJsonAsync<T>(this EtcdClient etcd, string key, CancellationToken ct = default)
    {
        var response = await etcd.GetAsync(key, cancellationToken: ct);
        if (response.Kvs.Count == 0) return null;
        var kv = response.Kvs[0];
        return new EtcdValue<T>(ZeroDiskJson.Deserialize<T>(kv.Value.ToStringUtf8()), kv.ModRevision, kv.Version);
    }

    public static Task PutJsonAsync<T>(this EtcdClient etcd, string key, T value, CancellationToken ct = default) =>
        etcd.PutAsync(key, ZeroDiskJson.Serialize(value), cancellationToken: ct);

    public static ByteString Utf8(string text) => ByteString.CopyFromUtf8(text);
}

public sealed record EtcdValue<T>(T Value, long ModRevision, long Version);
