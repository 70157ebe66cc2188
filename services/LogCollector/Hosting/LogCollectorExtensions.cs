using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ZeroDisk.LogCollector.Checkpoints;
using ZeroDisk.LogCollector.Publishing;
using ZeroDisk.LogCollector.Tailing;

namespace ZeroDisk.LogCollector.Hosting;

public static class LogCollectorExtensions
{
    /// <summary>The collector: tail the log directory (and optionally stdin), publish events with confirms, checkpoint.</summary>
    public static IHostApplicationBuilder AddLogCollector(this IHostApplicationBuilder builder)
    {
        var options = builder.Configuration.GetSection(LogCollectorOptions.Section).Get<LogCollectorOptions>() ?? new LogCollectorOptions();
        Validate(options);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(sp => new CheckpointStore(options.ResolveCheckpointPath(), sp.GetRequiredService<ILogger<CheckpointStore>>()));
        builder.Services.AddSingleton<LineClassifier>();
        builder.Services.AddSingleton(sp => new ConfirmedPublisher(sp.GetRequiredService<IBus>(), options, sp.GetRequiredService<ILogger<ConfirmedPublisher>>()));
        builder.Services.AddSingleton<Telemetry.CollectorLag>();
        builder.Services.AddHostedService<LogDirectoryTailer>();
        if (options.ReadStandardInput)
            builder.Services.AddHostedService<StandardInputTailer>();
        // The collector only publishes, and retries every publish until confirmed: start tailing even while the
        // broker is down (the files are the buffer) instead of blocking start-up until it answers.
        builder.Services.Configure<MassTransitHostOptions>(host => host.WaitUntilStarted = false);
        return builder;
    }

    private static void Validate(LogCollectorOptions options)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.Node)) errors.Add("Node must be set");
        if (string.IsNullOrWhiteSpace(options.Directory)) errors.Add("Directory must be set");
        if (options.MaxLineBytes is < 256 or > 16 * 1024 * 1024) errors.Add("MaxLineBytes must be within 256 B..16 MiB");
        if (options.MaxInFlight is < 1 or > 4096) errors.Add("MaxInFlight must be within 1..4096");
        if (options.RescanInterval <= TimeSpan.Zero || options.PublishTimeout <= TimeSpan.Zero) errors.Add("RescanInterval and PublishTimeout must be positive");
        if (errors.Count > 0)
            throw new InvalidOperationException($"{LogCollectorOptions.Section} configuration is invalid: {string.Join("; ", errors)}");
    }
}
