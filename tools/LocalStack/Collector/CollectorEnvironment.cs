namespace ZeroDisk.LocalStack.Collector;

/// <summary>A collector's settings for tests and benches: as configuration (in process) or as a process's environment.</summary>
public static class CollectorEnvironment
{
    /// <summary>The broker, the node and its log directory, and short rescan and retry times.</summary>
    public static IReadOnlyDictionary<string, string?> Settings(Uri rabbitMq, string node, string directory, bool forwardOrdinary = false) =>
        new Dictionary<string, string?>
        {
            ["RABBITMQ_URI"] = rabbitMq.ToString(),
            ["LogCollector:Node"] = node,
            ["LogCollector:Directory"] = directory,
            ["LogCollector:ForwardOrdinaryLines"] = forwardOrdinary.ToString(),
            ["LogCollector:RescanInterval"] = "00:00:00.250",
            ["LogCollector:PublishTimeout"] = "00:00:05",
            ["LogCollector:RetryMaxDelay"] = "00:00:01",
        };

    public static Dictionary<string, string> For(Uri rabbitMq, string node, string directory, bool forwardOrdinary = false)
    {
        var environment = Settings(rabbitMq, node, directory, forwardOrdinary)
            .ToDictionary(kv => kv.Key.Replace(":", "__"), kv => kv.Value!);
        environment["DOTNET_gcServer"] = "0";
        environment["Logging__LogLevel__MassTransit"] = "Warning";
        environment["Logging__Console__FormatterName"] = "simple";
        environment["Logging__Console__FormatterOptions__SingleLine"] = "true";
        environment["Logging__Console__FormatterOptions__TimestampFormat"] = "HH:mm:ss.fff ";
        return environment;
    }
}
