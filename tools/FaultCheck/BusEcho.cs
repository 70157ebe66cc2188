using MassTransit;
using ZeroDisk.Contracts;

namespace ZeroDisk.FaultCheck;

/// <summary>
/// "A bus message delivered twice": listens, on its own queue, to the failure reports and repair completions of the
/// run's engines, and publishes a captured one again, byte for byte (same message id, same source and observation
/// time) — what an at-least-once broker does after a lost acknowledgement.
/// </summary>
public sealed class BusEcho : IAsyncDisposable
{
    private readonly object _gate = new();
    private readonly List<(Guid? Id, object Message, string What)> _seen = [];
    private IBusControl? _bus;

    public static async Task<BusEcho> StartAsync(Uri rabbitMqUri, string queue, IReadOnlySet<string> engines, CancellationToken ct)
    {
        var echo = new BusEcho();
        echo._bus = Bus.Factory.CreateUsingRabbitMq(cfg =>
        {
            cfg.Host(rabbitMqUri);
            cfg.ReceiveEndpoint(queue, e =>
            {
                e.AutoDelete = true;
                e.Durable = false;
                e.Handler<StorageEngineFailureReported>(c =>
                {
                    if (engines.Contains(c.Message.Address)) echo.Capture(c.MessageId, c.Message, $"failure report of {c.Message.Address}");
                    return Task.CompletedTask;
                });
                e.Handler<VdiskRepairCompleted>(c =>
                {
                    if (engines.Contains(c.Message.Address)) echo.Capture(c.MessageId, c.Message, $"repair completion of {c.Message.VdiskId} for {c.Message.Address}");
                    return Task.CompletedTask;
                });
            });
        });
        await echo._bus.StartAsync(ct);
        return echo;
    }

    private int Count
    {
        get { lock (_gate) return _seen.Count; }
    }

    private void Capture(Guid? id, object message, string what)
    {
        lock (_gate) _seen.Add((id, message, what));
    }

    /// <summary>After <paramref name="delay"/>, publishes the latest captured message again.</summary>
    public async Task<string> RedeliverLatestAsync(TimeSpan delay, CancellationToken ct)
    {
        await Task.Delay(delay, ct);
        // On a loaded machine the first report may reach the bus late: wait a while for one.
        for (var waited = 0; waited < 60 && Count == 0; waited++) await Task.Delay(500, ct);
        (Guid? Id, object Message, string What) latest;
        lock (_gate)
        {
            if (_seen.Count == 0) return "nothing captured within 30 s to deliver twice";
            latest = _seen[^1];
        }
        await _bus!.Publish(latest.Message, latest.Message.GetType(), c => c.MessageId = latest.Id, ct);
        return $"delivered again (message {latest.Id}): {latest.What}";
    }

    public async ValueTask DisposeAsync()
    {
        if (_bus is not null) await _bus.StopAsync();
    }
}
