using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using ZeroDisk.ServiceDefaults.Security;

namespace ZeroDisk.ServiceDefaults.Health;

/// <summary>
/// A health report as JSON: the overall status and each check with its status, description and error (secrets in
/// URIs masked). 200 when healthy or degraded, 503 when unhealthy, as compose and Kubernetes probes expect.
/// </summary>
public static class HealthReportJson
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);

    public static async Task RespondAsync(HttpContext context, HealthCheckService health, Func<HealthCheckRegistration, bool> predicate)
    {
        var report = await health.CheckHealthAsync(predicate, context.RequestAborted);
        context.Response.StatusCode = report.Status == HealthStatus.Unhealthy ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status200OK;
        context.Response.Headers.CacheControl = "no-store";
        await context.Response.WriteAsJsonAsync(Of(report), Options, context.RequestAborted);
    }

    public static object Of(HealthReport report) => new
    {
        status = report.Status.ToString(),
        totalDurationMs = Math.Round(report.TotalDuration.TotalMilliseconds, 1),
        checks = report.Entries.Select(e => new
        {
            name = e.Key,
            status = e.Value.Status.ToString(),
            description = SecretMasking.MaskUris(e.Value.Description),
            durationMs = Math.Round(e.Value.Duration.TotalMilliseconds, 1),
            error = e.Value.Exception is null ? null : SecretMasking.MaskUris(e.Value.Exception.Message),
            tags = e.Value.Tags,
        }),
    };
}
