namespace ZeroDisk.LogCollector.Tests.Fixtures;

/// <summary>Environment of a collector process: the same settings the in-process collector uses, as variables.</summary>
public static class CollectorEnvironment
{
    public static Dictionary<string, string> For(Uri rabbitMq, string node, string directory, bool forwardOrdinary = false)
    {
        var environment = InProcessCollector.Settings(rabbitMq, node, directory, forwardOrdinary)
            .ToDictionary(kv => kv.Key.Replace(":", "__"), kv => kv.Value!);
        environment["DOTNET_gcServer"] = "0";
        environment["Logging__LogLevel__MassTransit"] = "Warning";
        environment["Logging__Console__FormatterName"] = "simple";
        environment["Logging__Console__FormatterOptions__SingleLine"] = "true";
        environment["Logging__Console__FormatterOptions__TimestampFormat"] = "HH:mm:ss.fff ";
        return environment;
    }
}
