using MassTransit;
using Microsoft.Extensions.Logging;
using ZeroDisk.Contracts;

namespace ZeroDisk.RepairScheduler.Restarts;

/// <summary>
/// Restarts that wait out a crash-loop backoff. This RabbitMQ has no delayed-exchange plugin, so the wait is a timer
/// in this process, but the restart itself is recorded in etcd first (<see cref="RestartClaims.DeferAsync"/>) and
/// the exit's report acknowledged only then: a scheduler that dies during the backoff leaves the restart to the next
/// scheduler that starts (<see cref="ResumeAsync"/>), which sends it once the owner has had time to and did not. A
/// restart marked done before it was sent would have kept a crashed server down until an operator noticed.
/// A command that cannot be delivered is tried again a few times with the backoff; then the claim is given up, so a
/// later report of the exit acts on it, and the failure is logged as an error.
/// </summary>
public sealed class DelayedRestarts(IBus bus, RestartClaims claims, SchedulerOptions options, TimeProvider time, ILogger<DelayedRestarts> logger) : IDisposable
{
    private const int MaxAttempts = 5;
    private readonly CancellationTokenSource _stopping = new();

    /// <summary>Records the deferred restart (when the exit has a claim) and starts its timer.</summary>
    public async Task DeferAsync(TimeSpan delay, ProcessExited exited, string? claim, CancellationToken ct)
    {
        long? revision = claim is null ? null : await claims.DeferAsync(claim, exited, time.GetUtcNow() + delay, ct);
        Schedule(delay, exited, claim, revision, attempt: 1);
    }

    /// <summary>At start-up: the deferred restarts a scheduler left in etcd, each sent when its owner is overdue.</summary>
    public async Task ResumeAsync(CancellationToken ct)
    {
        foreach (var deferred in await claims.ListDeferredAsync(ct))
        {
            var wait = deferred.TakeoverAt - time.GetUtcNow();
            logger.LogWarning("Resuming the deferred restart of {Role} {Id} on {Node} ({Claim}); due to be taken over in {Wait}",
                deferred.Exited.Role.ToWire(), deferred.Exited.Id, deferred.Exited.Source.Node, deferred.Key, wait > TimeSpan.Zero ? wait : TimeSpan.Zero);
            Schedule(wait > TimeSpan.Zero ? wait : TimeSpan.Zero, deferred.Exited, deferred.Key, ownRevision: null, attempt: 1);
        }
    }

    private void Schedule(TimeSpan delay, ProcessExited exited, string? claim, long? ownRevision, int attempt)
    {
        var token = _stopping.Token;
        _ = Task.Run(() => RunAsync(delay, exited, claim, ownRevision, attempt, token));
    }

    private async Task RunAsync(TimeSpan delay, ProcessExited exited, string? claim, long? ownRevision, int attempt, CancellationToken token)
    {
        try
        {
            await Task.Delay(delay, time, token);
            if (claim is not null && await claims.TryTakeDeferredAsync(claim, ownRevision, token) is null) return; // sent by another, or not overdue yet
            logger.LogWarning("Restarting {Role} {Id} on {Node} after a crash-loop backoff", exited.Role.ToWire(), exited.Id, exited.Source.Node);
            await RestartCommands.SendAsync(bus, exited, options.RestartSendTimeout, token);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            return; // shutting down: the claim in etcd stays for the next scheduler
        }
        catch (Exception ex)
        {
            await RetryOrGiveUpAsync(ex, exited, claim, attempt, token);
            return;
        }
        if (claim is null) return;
        try
        {
            await claims.CompleteAsync(claim, token);
        }
        catch (Exception ex) when (!token.IsCancellationRequested)
        {
            // Sent, but not recorded: a scheduler may send it once more after the pending timeout (one extra restart, never none).
            logger.LogError(ex, "Restart of {Role} {Id} on {Node} was sent but not recorded as done", exited.Role.ToWire(), exited.Id, exited.Source.Node);
        }
    }

    private async Task RetryOrGiveUpAsync(Exception failure, ProcessExited exited, string? claim, int attempt, CancellationToken token)
    {
        if (attempt >= MaxAttempts)
        {
            logger.LogError(failure, "Delayed restart of {Role} {Id} on {Node} failed {Attempts} times; given up, a later report of the exit acts on it",
                exited.Role.ToWire(), exited.Id, exited.Source.Node, attempt);
            if (claim is not null) await TryAsync(() => claims.AbandonAsync(claim, token));
            return;
        }
        var retry = TimeSpan.FromTicks(Math.Min(options.RestartBackoff.Ticks << Math.Min(attempt, 30), options.MaxRestartBackoff.Ticks));
        logger.LogWarning("Delayed restart of {Role} {Id} on {Node} failed (attempt {Attempt} of {Max}); trying again in {Retry}: {Error}",
            exited.Role.ToWire(), exited.Id, exited.Source.Node, attempt, MaxAttempts, retry, failure.Message);
        long? revision = null;
        if (claim is not null && !await TryAsync(async () => revision = await claims.DeferAsync(claim, exited, time.GetUtcNow() + retry, token)))
        {
            // etcd refused the new due time: the claim stays pending, which anyone may take over after the pending timeout.
            retry = retry > RestartClaims.PendingTimeout ? retry : RestartClaims.PendingTimeout;
        }
        Schedule(retry, exited, claim, revision, attempt + 1);
    }

    private async Task<bool> TryAsync(Func<Task> action)
    {
        try
        {
            await action();
            return true;
        }
        catch (Exception ex) when (!_stopping.IsCancellationRequested)
        {
            logger.LogWarning("Recording a delayed restart in etcd failed: {Error}", ex.Message);
            return false;
        }
    }

    public void Dispose()
    {
        _stopping.Cancel();
        _stopping.Dispose();
    }
}
