using dotnet_etcd;
using ZeroDisk.Contracts;
using ZeroDisk.LocalStack;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.Drill;

/// <summary>Follows one engine's state in its cluster config (what every NBD server obeys) and prints each change.</summary>
public sealed class EngineWatch(EtcdClient etcd, string clusterId, string address, DrillReport report)
{
    public List<EngineState> Seen { get; } = [];

    public Task<EngineState?> CurrentAsync(CancellationToken ct) => StateAsync(etcd, clusterId, address, ct);

    /// <summary>One engine's state in its cluster config now; null when the cluster or the engine is not there.</summary>
    public static async Task<EngineState?> StateAsync(EtcdClient etcd, string clusterId, string address, CancellationToken ct)
    {
        var config = await etcd.GetJsonAsync<StorageClusterConfig>(EtcdKeys.StorageClusterConfig(clusterId), ct);
        return config?.Value.Servers.FirstOrDefault(s => s.Address == address)?.State;
    }

    public async Task<bool> UntilAsync(EngineState end, TimeSpan within, CancellationToken ct)
    {
        var last = Seen.Count > 0 ? Seen[^1] : EngineState.Online;
        return await Eventually.WithinAsync(async () =>
        {
            var state = await CurrentAsync(ct);
            if (state is { } s && s != last)
            {
                Seen.Add(s);
                report.Progress($"engine {address}: {last.ToWire()} -> {s.ToWire()}");
                last = s;
            }
            return state == end && Seen.Count > 0;
        }, within, TimeSpan.FromMilliseconds(200), ex => ex is Grpc.Core.RpcException, ct); // etcd restarting (chaos): the state is still there afterwards
    }
}
