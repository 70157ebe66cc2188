using dotnet_etcd;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using ZeroDisk.Contracts;

namespace ZeroDisk.ServiceDefaults.Etcd;

internal sealed class EtcdHealthCheck(EtcdClient etcd) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            // A deadline: an unreachable etcd otherwise keeps the probe waiting while gRPC reconnects.
            await etcd.GetAsync(EtcdKeys.OwnRecordsPrefix + "health", deadline: DateTime.UtcNow.AddSeconds(3), cancellationToken: cancellationToken);
            return HealthCheckResult.Healthy();
        }
        catch (Exception ex)
        {
            return HealthCheckResult.Unhealthy($"etcd unreachable ({ex.GetType().Name})", ex);
        }
    }
}
