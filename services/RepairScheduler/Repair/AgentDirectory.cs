using dotnet_etcd;
using ZeroDisk.Contracts;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.RepairScheduler.Repair;

/// <summary>The node agents registered in etcd (each under its own lease, so a dead agent disappears).</summary>
public sealed class AgentDirectory(EtcdClient etcd)
{
    public async Task<IReadOnlyList<AgentRegistration>> ListAsync(CancellationToken ct)
    {
        var response = await etcd.GetRangeAsync(EtcdKeys.AgentPrefix, cancellationToken: ct);
        var agents = new List<AgentRegistration>();
        foreach (var kv in response.Kvs)
        {
            try { agents.Add(ZeroDiskJson.Deserialize<AgentRegistration>(kv.Value.ToStringUtf8())); }
            catch (System.Text.Json.JsonException) { /* a half-written or foreign value: not an agent we can use */ }
        }
        return agents;
    }

    /// <summary>The least loaded agent, preferring ones not already chosen in this round.</summary>
    public static AgentRegistration? PickLeastLoaded(IReadOnlyList<AgentRegistration> agents, IReadOnlyDictionary<string, int> assignedThisRound) =>
        agents.OrderBy(a => a.Load + assignedThisRound.GetValueOrDefault(a.Node)).ThenBy(a => a.Node, StringComparer.Ordinal).FirstOrDefault();
}
