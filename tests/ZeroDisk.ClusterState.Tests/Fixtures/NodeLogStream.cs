using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ZeroDisk.LogCollector.Hosting;
using ZeroDisk.Storage;
using ZeroDisk.ServiceDefaults.Messaging;

namespace ZeroDisk.ClusterState.Tests.Fixtures;

/// <summary>
/// One node's log stream as production has it: an NBD server's event lines, stamped and formatted by the server's own
/// writer (<see cref="ConsoleStderrEvents"/>: time, and the incident read from the engine's saga in etcd), appended to
/// its log file; and the real LogCollector tailing that directory into the deployment's RabbitMQ vhost — started
/// when the test says, so lines can pile up while it is down.
/// </summary>
public sealed class NodeLogStream(ClusterStateDeployment deployment, string node) : IAsyncDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory($"{deployment.Scope}-{node}-").FullName;
    private readonly ConsoleStderrEvents _writer = new(new EngineIncidents(deployment.Etcd, NullLogger<EngineIncidents>.Instance));
    private IHost? _collector;

    public string LogFile => Path.Combine(_directory, $"nbdserver-{node}.log");

    /// <summary>Writes <paramref name="ev"/> as the NBD server does and returns the line.</summary>
    public async Task<string> WriteAsync(StderrEvent ev)
    {
        var line = StderrEventWriter.Format(_writer.Stamp(ev));
        await File.AppendAllTextAsync(LogFile, line + "\n");
        return line;
    }

    public async Task StartCollectorAsync()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            [MessagingOptions.UriKey] = deployment.VirtualHost.Uri.ToString(),
            [$"{LogCollectorOptions.Section}:{nameof(LogCollectorOptions.Node)}"] = node,
            [$"{LogCollectorOptions.Section}:{nameof(LogCollectorOptions.Directory)}"] = _directory,
            [$"{LogCollectorOptions.Section}:{nameof(LogCollectorOptions.RescanInterval)}"] = "00:00:00.250",
        });
        builder.AddMessaging();
        builder.AddLogCollector();
        _collector = builder.Build();
        await _collector.StartAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_collector is not null)
        {
            await _collector.StopAsync();
            _collector.Dispose();
        }
        Directory.Delete(_directory, recursive: true);
    }
}
