using MassTransit;
using Microsoft.Extensions.Logging;
using ZeroDisk.Contracts;

namespace ZeroDisk.RepairScheduler.Restarts;

/// <summary>
/// Restarts that wait out a crash-loop backoff. This RabbitMQ has no delayed-exchange plugin, so the wait is a
/// timer in this process; if the scheduler dies meanwhile the process stays down until its next report or an
/// operator's restart, which is the safe side of a crash loop.
/// </summary>
public sealed class DelayedRestarts(IBus bus, SchedulerOptions options, TimeProvider time, ILogger<DelayedRestarts> logger) : IDisposable
{
    private readonly CancellationTokenSource _stopping = new();

    public void After(TimeSpan delay, ProcessExited exited) => _ = Task.Run(async () =>
    {
        try
        {
            await Task.Delay(delay, time, _stopping.Token);
            logger.LogWarning("Restarting {Role} {Id} on {Node} after a crash-loop backoff of {Delay}", exited.Role.ToWire(), exited.Id, exited.Source.Node, delay);
            await RestartCommands.SendAsync(bus, exited, options.RestartSendTimeout, _stopping.Token);
        }
        catch (OperationCanceledException)
        {
            // shutting down
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "Delayed restart of {Role} {Id} on {Node} failed", exited.Role.ToWire(), exited.Id, exited.Source.Node);
        }
    });

    public void Dispose()
    {
        _stopping.Cancel();
        _stopping.Dispose();
    }
}
