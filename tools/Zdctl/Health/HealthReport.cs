namespace ZeroDisk.Zdctl.Health;

/// <summary>ClusterState's <c>/status/health</c> answer, read by name so zdctl needs none of ClusterState's types.</summary>
public sealed record HealthReport(string Status, DateTimeOffset ObservedAt, IReadOnlyList<HealthCheckItem> Checks);

/// <param name="Severity">HEALTH_WARN or HEALTH_ERR.</param>
public sealed record HealthCheckItem(string Check, string Severity, string Summary, IReadOnlyList<string> Detail, string Action);
