using MassTransit;
using Microsoft.Extensions.Logging;
using ZeroDisk.Contracts;

namespace ZeroDisk.RepairScheduler.Restarts;

/// <summary>
/// Seed "NBD server failure" and "Tlog server failure": a crashed NBD server is restarted with its VM, a crashed
/// tlog server is restarted, both through the node's agent. Exit code 0 is a deliberate stop and is left alone.
/// A crash loop is throttled and reported, not restarted forever at full speed. Each exit is acted on once
/// (<see cref="RestartClaims"/>): a redelivered or repeated report of it restarts nothing and feeds no throttle.
/// The restart command goes through the bus itself, not the consume context: the context's sends wait in the
/// endpoint's in-memory outbox until this method returns, i.e. after the claim is marked done, and a scheduler killed
/// in that gap (or a send that fails there) left a claim saying "done" for a restart nobody ever received.
/// A command that does not reach the agent's queue in time (<see cref="RestartCommands"/>) gives the claim up and
/// faults the report: the bus retries it, then moves it to the error queue, and a later report of the exit acts on it.
/// A throttled restart is recorded as delayed in etcd before the report is acknowledged (<see cref="DelayedRestarts"/>).
/// </summary>
public sealed class ProcessExitedConsumer(CrashLoopThrottle throttle, DelayedRestarts delayed, RestartClaims claims, IBus bus, SchedulerOptions options,
    ILogger<ProcessExitedConsumer> logger)
    : IConsumer<ProcessExited>
{
    public async Task Consume(ConsumeContext<ProcessExited> context)
    {
        var exited = context.Message;
        if (exited.ExitCode == 0)
        {
            logger.LogInformation("{Role} {Id} on {Node} exited cleanly; not restarting", exited.Role.ToWire(), exited.Id, exited.Source.Node);
            return;
        }
        var claim = RestartClaims.KeyOf(exited, context.MessageId);
        if (claim is not null && !await claims.TryClaimAsync(claim, context.CancellationToken))
        {
            logger.LogInformation("{Role} {Id} on {Node}: this exit (exit {ExitCode}) was already acted on ({Claim}); duplicate ignored",
                exited.Role.ToWire(), exited.Id, exited.Source.Node, exited.ExitCode, claim);
            SchedulerTelemetry.DuplicateExits.Add(1);
            return;
        }
        bool sent;
        try
        {
            sent = await RestartAsync(context, exited, claim);
        }
        catch (Exception ex) when (claim is not null)
        {
            if (ex is RestartNotDeliveredException) logger.LogWarning("{Message}; the exit is not acted on", ex.Message);
            await claims.AbandonAsync(claim, CancellationToken.None);
            throw;
        }
        if (claim is not null && sent) await claims.CompleteAsync(claim, context.CancellationToken);
    }

    /// <summary>True when the command was sent; false when it waits out a crash-loop backoff (its claim says so in etcd).</summary>
    private async Task<bool> RestartAsync(ConsumeContext<ProcessExited> context, ProcessExited exited, string? claim)
    {
        var (crashes, delay) = throttle.OnCrash($"{exited.Source.Node}/{exited.Role.ToWire()}/{exited.Id}", claim);
        if (delay > TimeSpan.Zero)
        {
            logger.LogError("{Role} {Id} on {Node} crashed {Crashes} times in a row (exit {ExitCode}); next restart in {Delay}",
                exited.Role.ToWire(), exited.Id, exited.Source.Node, crashes, exited.ExitCode, delay);
            SchedulerTelemetry.RestartsThrottled.Add(1);
            await context.Publish(new RestartThrottled { Node = exited.Source.Node, Role = exited.Role, Id = exited.Id, CrashesInARow = crashes, Delay = delay });
            await delayed.DeferAsync(delay, exited, claim, context.CancellationToken);
            return false;
        }
        logger.LogWarning("{Role} {Id} on {Node} exited with {ExitCode}; restarting", exited.Role.ToWire(), exited.Id, exited.Source.Node, exited.ExitCode);
        await RestartCommands.SendAsync(bus, exited, options.RestartSendTimeout, context.CancellationToken);
        return true;
    }
}
