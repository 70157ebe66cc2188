using dotnet_etcd;
using Etcdserverpb;
using ZeroDisk.ClusterState.Persistence;
using ZeroDisk.Contracts;

namespace ZeroDisk.ClusterState.Rehearsal;

/// <summary>
/// The start-up rehearsal's own deployment in etcd: two clusters paired by one vdisk, under a prefix no deployment reads
/// (<c>zerodisk/rehearsal/&lt;id&gt;/</c>: every scan skips ZeroDisk's own records, and no id holds a '/'), written
/// in one transaction on a lease of its own. Disposing revokes the lease, which deletes every key; a process killed
/// first leaves them to the lease's time to live.
/// </summary>
internal sealed class RehearsalDeployment : IAsyncDisposable
{
    /// <summary>How long the keys outlive a process killed during its rehearsal.</summary>
    public static readonly TimeSpan TimeToLive = TimeSpan.FromMinutes(1);

    private readonly EtcdClient _etcd;
    private readonly long _lease;

    private RehearsalDeployment(EtcdClient etcd, string id, long lease)
    {
        _etcd = etcd;
        _lease = lease;
        Scope = $"{EtcdKeys.OwnRecordsPrefix}rehearsal/{id}/";
        FailingEngine = Engine(id, 1);
    }

    /// <summary>The key scope that holds this deployment and nothing else.</summary>
    public string Scope { get; }

    /// <summary>The engine the rehearsal reports failed: named after the rehearsal, so no real engine's saga is ever read.</summary>
    public string FailingEngine { get; }

    /// <summary>A key of this scope nothing ever writes (<see cref="RehearsalFence"/>).</summary>
    public string NeverWrittenKey => Scope + "never-written";

    public static async Task<RehearsalDeployment> WriteAsync(EtcdClient etcd, CancellationToken ct)
    {
        var id = Guid.NewGuid().ToString("N");
        var lease = (await etcd.LeaseGrantAsync(new LeaseGrantRequest { TTL = (long)TimeToLive.TotalSeconds }, cancellationToken: ct)).ID;
        var deployment = new RehearsalDeployment(etcd, id, lease);
        var (primary, slave) = (deployment.Scope + "primary", deployment.Scope + "slave");
        var transaction = new EtcdTransaction();
        foreach (var (cluster, first) in new[] { (primary, 1), (slave, 3) })
        {
            var config = new StorageClusterConfig([new StorageServerConfig(Engine(id, first)), new StorageServerConfig(Engine(id, first + 1))]);
            transaction.Put(EtcdKeys.StorageClusterConfig(cluster), ZeroDiskJson.Serialize(config), lease)
                .Put(EtcdKeys.ClusterStatus(cluster), ClusterStatus.Healthy.ToWire(), lease);
        }
        transaction.Put(EtcdKeys.VdiskNbdConfig(deployment.Scope + "vdisk"), ZeroDiskJson.Serialize(new VdiskNbdConfig(primary, slave)), lease);
        try
        {
            await transaction.CommitAsync(etcd, ct);
            return deployment;
        }
        catch
        {
            await deployment.DisposeAsync();
            throw;
        }
    }

    private static string Engine(string id, int n) => $"rehearsal-{id}.invalid:{n}";

    public async ValueTask DisposeAsync()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            await _etcd.LeaseRevokeAsync(new LeaseRevokeRequest { ID = _lease }, cancellationToken: deadline.Token);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The lease's time to live removes the keys anyway.
        }
    }
}
