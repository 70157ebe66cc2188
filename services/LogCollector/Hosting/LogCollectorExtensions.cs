using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ZeroDisk.LogCollector.Checkpoints;
using ZeroDisk.LogCollector.Publishing;
using ZeroDisk.LogCollector.Tailing;
using ZeroDisk.ServiceDefaults.Options;

namespace ZeroDisk.LogCollector.Hosting;

public static class LogCollectorExtensions
{
    /// <summary>The collector: tail the log directory (and optionally stdin), publish events with confirms, checkpoint.</summary>
    public static IHostApplicationBuilder AddLogCollector(this IHostApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<LogCollectorOptions>(LogCollectorOptions.Section);
        builder.Services.AddSingleton(sp => new CheckpointStore(sp.GetRequiredService<LogCollectorOptions>().ResolveCheckpointPath(), sp.GetRequiredService<ILogger<CheckpointStore>>()));
        builder.Services.AddSingleton<LineClassifier>();
        builder.Services.AddSingleton(sp => new BrokerReconnector(sp.GetRequiredService<MassTransit.Transports.IBusInstance>(), sp.GetRequiredService<LogCollectorOptions>(), sp.GetRequiredService<ILogger<BrokerReconnector>>()));
        builder.Services.AddSingleton(sp => new ConfirmedPublisher(sp.GetRequiredService<IBus>(), sp.GetRequiredService<BrokerReconnector>(), sp.GetRequiredService<LogCollectorOptions>(), sp.GetRequiredService<ILogger<ConfirmedPublisher>>()));
        builder.Services.AddSingleton<Telemetry.CollectorLag>();
        builder.Services.AddHostedService<LogDirectoryTailer>();
        if (builder.Configuration.GetValue<bool>($"{LogCollectorOptions.Section}:{nameof(LogCollectorOptions.ReadStandardInput)}"))
            builder.Services.AddHostedService<StandardInputTailer>();
        // The collector only publishes, and retries every publish until confirmed: start tailing even while the
        // broker is down (the files are the buffer) instead of blocking start-up until it answers.
        builder.Services.Configure<MassTransitHostOptions>(host => host.WaitUntilStarted = false);
        return builder;
    }
}
