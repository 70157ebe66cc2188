using System.Collections.Concurrent;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ZeroDisk.LogCollector.Hosting;
using ZeroDisk.ServiceDefaults.Messaging;

namespace ZeroDisk.LogCollector.Tests.Fixtures;

/// <summary>
/// The collector wired exactly as Program.cs wires it (AddMessaging + AddLogCollector), hosted in the test process so
/// a test can read its log and its metrics. Tests that kill it use <see cref="CollectorProcess"/> instead.
/// </summary>
public sealed class InProcessCollector : IAsyncDisposable
{
    private readonly IHost _host;

    private InProcessCollector(IHost host, CapturedLog log)
    {
        _host = host;
        Log = log;
    }

    public CapturedLog Log { get; }

    /// <param name="overrides">Settings that replace the tests' defaults, e.g. a shorter <c>LogCollector:ReconnectAfter</c>.</param>
    public static async Task<InProcessCollector> StartAsync(InfrastructureEndpoints endpoints, string node, string directory, bool forwardOrdinary = false,
        IReadOnlyDictionary<string, string?>? overrides = null)
    {
        var log = new CapturedLog();
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(log);
        builder.Configuration.AddInMemoryCollection(CollectorEnvironment.Settings(endpoints.RabbitMqUri, node, directory, forwardOrdinary));
        if (overrides is not null) builder.Configuration.AddInMemoryCollection(overrides);
        builder.AddMessaging();
        builder.AddLogCollector();
        var host = builder.Build();
        await host.StartAsync();
        return new InProcessCollector(host, log);
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
    }
}

/// <summary>Every formatted log message of one in-process collector.</summary>
public sealed class CapturedLog : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _messages = new();

    public IReadOnlyList<string> Messages => _messages.ToList();

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void Dispose()
    {
    }

    private sealed class Logger(CapturedLog owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel)) owner._messages.Enqueue($"{logLevel}: {formatter(state, exception)}{(exception is null ? "" : " " + exception)}");
        }
    }
}
