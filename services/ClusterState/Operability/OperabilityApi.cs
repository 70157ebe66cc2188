namespace ZeroDisk.ClusterState.Operability;

/// <summary>
/// The admin API's reads for operators (no token: they change nothing): <c>/status/health</c>, the verdict with its
/// named checks and first actions (<c>zdctl health</c>), and <c>/status/repairs</c>, each incident's repair progress
/// in vdisks, blocks and bytes, with rate, ETA and the reasons it is blocked (<c>zdctl status</c>).
/// </summary>
public static class OperabilityApi
{
    public static WebApplication MapOperabilityApi(this WebApplication app)
    {
        app.MapGet("/status/health", (ClusterObserver observer, TimeProvider time) =>
            Results.Ok(HealthAssessment.Assess(observer.Latest, observer.LastError, time.GetUtcNow())));
        app.MapGet("/status/repairs", (ClusterObserver observer) => observer.Latest is { } latest
            ? Results.Ok(new { observedAt = latest.At, repairs = latest.Repairs })
            : Results.Json(new { message = observer.LastError ?? "no observation yet" }, statusCode: StatusCodes.Status503ServiceUnavailable));
        return app;
    }
}
