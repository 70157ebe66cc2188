using Etcdserverpb;
using Google.Protobuf;
using Grpc.Net.Client;
using ZeroDisk.Contracts;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.Storage.Ownership;

/// <summary>
/// etcd's KV and Lease services over raw gRPC (as <see cref="EtcdWatch"/> does): leases need a keep-alive stream and
/// claims need transactions whose every field we choose, so the agent talks the protocol directly.
/// </summary>
public sealed class EtcdGrpc : IDisposable
{
    private readonly GrpcChannel _channel;

    public EtcdGrpc(string endpoints)
    {
        Endpoints = endpoints;
        _channel = EtcdChannel.Create(endpoints);
        var calls = EtcdChannel.Authenticated(_channel);
        Kv = new KV.KVClient(calls);
        Leases = new Lease.LeaseClient(calls);
    }

    public string Endpoints { get; }
    public KV.KVClient Kv { get; }
    public Lease.LeaseClient Leases { get; }

    public async Task<EtcdValue<T>?> GetAsync<T>(string key, CancellationToken ct)
    {
        var response = await Kv.RangeAsync(new RangeRequest { Key = ByteString.CopyFromUtf8(key) }, cancellationToken: ct);
        if (response.Kvs.Count == 0) return null;
        var kv = response.Kvs[0];
        return new EtcdValue<T>(ZeroDiskJson.Deserialize<T>(kv.Value.ToStringUtf8()), kv.ModRevision, kv.Version);
    }

    /// <summary>A plain (not JSON) value, e.g. an engine's registered identity marker; null when the key is absent.</summary>
    public async Task<string?> GetStringAsync(string key, CancellationToken ct)
    {
        var response = await Kv.RangeAsync(new RangeRequest { Key = ByteString.CopyFromUtf8(key) }, cancellationToken: ct);
        return response.Kvs.Count == 0 ? null : response.Kvs[0].Value.ToStringUtf8();
    }

    public Task PutAsync<T>(string key, T value, long lease, CancellationToken ct) =>
        Kv.PutAsync(new PutRequest { Key = ByteString.CopyFromUtf8(key), Value = ByteString.CopyFromUtf8(ZeroDiskJson.Serialize(value)), Lease = lease }, cancellationToken: ct).ResponseAsync;

    public void Dispose() => _channel.Dispose();
}
