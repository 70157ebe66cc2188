using dotnet_etcd;
using ZeroDisk.Contracts;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.Drill;

/// <summary>Follows one engine's state in its cluster config (what every NBD server obeys) and prints each change.</summary>
public sealed class EngineWatch(EtcdClient etcd, string clusterId, string address, DrillReport report)
{
    public List<EngineState> Seen { get; } = [];

    public async Task<EngineState?> CurrentAsync(CancellationToken ct)
    {
        var config = await etcd.GetJsonAsync<StorageClusterConfig>(EtcdKeys.StorageClusterConfig(clusterId), ct);
        return config?.Value.Servers.FirstOrDefault(s => s.Address == address)?.State;
    }

    public async Task<bool> UntilAsync(EngineState end, TimeSpan within, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + within;
        var last = Seen.Count > 0 ? Seen[^1] : EngineState.Online;
        while (DateTime.UtcNow < deadline)
        {
            EngineState? state;
            try
            {
                state = await CurrentAsync(ct);
            }
            catch (Grpc.Core.RpcException)
            {
                await Task.Delay(500, ct); // etcd restarting (chaos): the state is still there afterwards
                continue;
            }
            if (state is { } s && s != last)
            {
                Seen.Add(s);
                report.Progress($"engine {address}: {last.ToWire()} -> {s.ToWire()}");
                last = s;
            }
            if (state == end && Seen.Count > 0) return true;
            await Task.Delay(200, ct);
        }
        return false;
    }
}
