using MassTransit;
using MassTransit.RabbitMqTransport;
using MassTransit.RabbitMqTransport.Configuration;
using MassTransit.Transports;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;
using ZeroDisk.LogCollector.Hosting;
using ZeroDisk.LogCollector.Telemetry;

namespace ZeroDisk.LogCollector.Publishing;

/// <summary>
/// Aborts the broker connection when nothing has been confirmed for <see cref="LogCollectorOptions.ReconnectAfter"/>
/// while publishes wait; the bus then opens a new one, as after a broker restart. A connection can stay open while
/// no publish on it ever completes again: RabbitMQ.Client 7.2's channels can lose track of replies after a request
/// was cancelled (fixed upstream after 7.2.2, the newest package served here), and a collector was seen publishing
/// nothing for minutes beside an idle broker. The checkpoint has not moved meanwhile, so nothing is lost, and a line
/// published twice keeps its id. (Stopping and starting the whole bus instead hangs on the very connection it must
/// drop: closing it waits for an answer that never comes.)
/// </summary>
internal sealed class BrokerReconnector(IBusInstance bus, LogCollectorOptions options, ILogger<BrokerReconnector> logger)
{
    // A hung connection never answers the close; the socket is dropped after this.
    private static readonly TimeSpan AbortTimeout = TimeSpan.FromSeconds(2);

    private long _lastConfirmed = Environment.TickCount64;
    private long _lastReconnect = Environment.TickCount64;

    public void Confirmed() => Volatile.Write(ref _lastConfirmed, Environment.TickCount64);

    /// <summary>Called by the one publish that probes a failing broker, so two never overlap.</summary>
    public async Task ReconnectIfStuckAsync(string node, CancellationToken cancellationToken)
    {
        var now = Environment.TickCount64;
        var silent = TimeSpan.FromMilliseconds(now - Volatile.Read(ref _lastConfirmed));
        // At most once per period: while the broker is really down, dropping connections more often only adds churn.
        if (silent < options.ReconnectAfter || TimeSpan.FromMilliseconds(now - _lastReconnect) < options.ReconnectAfter) return;
        if (bus.HostConfiguration is not IRabbitMqHostConfiguration rabbitMq) return;
        _lastReconnect = now;
        logger.LogWarning("No publish confirmed for {Silent:F0} s while publishes wait; dropping the broker connection and opening a new one", silent.TotalSeconds);
        CollectorTelemetry.BrokerReconnects.Add(1, new KeyValuePair<string, object?>("zerodisk.node", node));
        // Bounded: with the broker really down there is no connection to drop, and the bus is already reconnecting.
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.PublishTimeout);
        try
        {
            await rabbitMq.ConnectionContextSupervisor.Send(Pipe.ExecuteAsync<ConnectionContext>(context => context.Connection.AbortAsync(AbortTimeout)), timeout.Token);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            logger.LogWarning(ex, "Dropping the broker connection failed; trying again in {Period}", options.ReconnectAfter);
        }
    }
}
