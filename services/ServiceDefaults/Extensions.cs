using Microsoft.Extensions.Hosting;
using ZeroDisk.ServiceDefaults.Health;
using ZeroDisk.ServiceDefaults.Telemetry;

namespace ZeroDisk.ServiceDefaults;

public static class Extensions
{
    /// <summary>What every ZeroDisk service has: OpenTelemetry and health checks.</summary>
    public static IHostApplicationBuilder AddServiceDefaults(this IHostApplicationBuilder builder, string serviceName)
    {
        builder.ConfigureOpenTelemetry(serviceName);
        builder.AddDefaultHealthChecks();
        return builder;
    }
}
