using dotnet_etcd;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace ZeroDisk.ServiceDefaults.Etcd;

internal sealed class EtcdHealthCheck(EtcdClient etcd) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await etcd.GetAsync("zerodisk/health", cancellationToken: cancellationToken);
            return HealthCheckResult.Healthy();
        }
        catch (Exception ex)
        {
            return HealthCheckResult.Unhealthy("etcd unreachable", ex);
        }
    }
}
