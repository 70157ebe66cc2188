namespace ZeroDisk.LocalStack;

/// <summary>Where the shared servers of a test run listen (the keys of run/infra.env).</summary>
public sealed record InfrastructureEndpoints(
    Uri RabbitMqUri,
    Uri? RabbitMqManagementUrl,
    string EtcdEndpoints,
    IReadOnlyList<string> RedisPrimary,
    IReadOnlyList<string> RedisSlave,
    string Origin)
{
    public static InfrastructureEndpoints? FromVariables(Func<string, string?> get)
    {
        if (get("RABBITMQ_URI") is not { Length: > 0 } rabbit || get("ETCD_ENDPOINTS") is not { Length: > 0 } etcd) return null;
        return new InfrastructureEndpoints(
            new Uri(rabbit),
            get("RABBITMQ_MANAGEMENT_URL") is { Length: > 0 } mgmt ? new Uri(mgmt) : null,
            etcd,
            Split(get("REDIS_PRIMARY")),
            Split(get("REDIS_SLAVE")),
            "environment");
    }

    public static InfrastructureEndpoints? FromEnvFile(string path)
    {
        if (!File.Exists(path)) return null;
        var values = File.ReadAllLines(path)
            .Select(l => l.Split('=', 2))
            .Where(p => p.Length == 2)
            .ToDictionary(p => p[0].Trim(), p => p[1].Trim());
        return FromVariables(k => values.GetValueOrDefault(k)) is { } e ? e with { Origin = path } : null;
    }

    /// <summary>Variables for a child process (an NbdHost, a collector) so it finds the same servers.</summary>
    public IReadOnlyDictionary<string, string> ToEnvironment() => new Dictionary<string, string>
    {
        ["RABBITMQ_URI"] = RabbitMqUri.ToString(),
        ["ETCD_ENDPOINTS"] = EtcdEndpoints,
        ["REDIS_PRIMARY"] = string.Join(',', RedisPrimary),
        ["REDIS_SLAVE"] = string.Join(',', RedisSlave),
    };

    private static IReadOnlyList<string> Split(string? list) =>
        (list ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
