using dotnet_etcd;
using Microsoft.Extensions.Logging;
using ZeroDisk.Contracts;

namespace ZeroDisk.Storage;

/// <summary>
/// The incident a repair completion belongs to, read from the engine's saga record in etcd (ClusterState writes it in
/// the same transaction as the engine's state, so it is the incident of the state that started the repair). Written
/// into the completion line, it lets ClusterState ignore a completion of an earlier incident (failure reports are hints, state is etcd).
/// </summary>
public sealed class EngineIncidents(EtcdClient etcd, ILogger<EngineIncidents> log)
{
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The engine's current incident, or null when it cannot be read (the line then carries none, as the seed's form).
    /// If the engine is no longer in the repair state of <paramref name="kind"/>, the completion is late: it still
    /// carries the current incident, which ClusterState ignores in any state but that repair.
    /// </summary>
    public string? Of(string address, RepairKind kind)
    {
        try
        {
            using var timeout = new CancellationTokenSource(ReadTimeout);
            // Completions are rare and the writer's callers are synchronous: one bounded blocking read.
            var response = etcd.GetAsync(EngineSagaRecord.Key(address), cancellationToken: timeout.Token).GetAwaiter().GetResult();
            if (response.Kvs.Count == 0)
            {
                log.LogWarning("engine {Address}: no saga record in etcd; its repair completion carries no incident", address);
                return null;
            }
            var record = ZeroDiskJson.Deserialize<EngineSagaRecord>(response.Kvs[0].Value.ToStringUtf8());
            if (record.CurrentState != EngineSagaRecord.RepairingState(kind))
                log.LogInformation("engine {Address} is {State} (incident {Incident}), no longer repairing: a late completion",
                    address, record.CurrentState, record.Incident);
            return record.Incident;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            log.LogWarning("engine {Address}: its incident could not be read from etcd ({Reason}); the completion carries none", address, ex.Message);
            return null;
        }
    }
}
