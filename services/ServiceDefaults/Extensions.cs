using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Hosting;
using ZeroDisk.ServiceDefaults.Health;
using ZeroDisk.ServiceDefaults.Operations;
using ZeroDisk.ServiceDefaults.Security;
using ZeroDisk.ServiceDefaults.Telemetry;

namespace ZeroDisk.ServiceDefaults;

public static class Extensions
{
    /// <summary>
    /// What every ZeroDisk service has: OpenTelemetry (metrics for Prometheus, traces over OTLP), health checks, and the
    /// engines' and etcd's credentials (<see cref="StoreCredentialsExtensions.AddStoreCredentials"/>). A
    /// service without a web server of its own also gets the operations endpoint (health probes and /metrics) on
    /// <c>Operations:Url</c>, else <paramref name="operationsUrl"/>; a web service maps them with MapDefaultEndpoints.
    /// </summary>
    public static IHostApplicationBuilder AddServiceDefaults(this IHostApplicationBuilder builder, string serviceName, string? operationsUrl = null)
    {
        builder.ConfigureOpenTelemetry(serviceName);
        builder.AddDefaultHealthChecks();
        builder.AddStoreCredentials();
        if (builder is not WebApplicationBuilder) builder.AddOperationsEndpoint(operationsUrl);
        return builder;
    }
}
