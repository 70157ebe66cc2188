using MassTransit;
using ZeroDisk.Contracts;

namespace ZeroDisk.RepairScheduler.Restarts;

/// <summary>
/// The commands that bring a crashed process back, sent to its node's agent. A send either is confirmed by the broker
/// as routed to the agent's queue, or fails with <see cref="RestartNotDeliveredException"/> within
/// <see cref="SchedulerOptions.RestartSendTimeout"/>. Both halves were missing (fault-check seed 7):
/// MassTransit treats a publish the broker refuses (nack: the queue is full or unavailable) as a lost connection and
/// retries it inside <c>Send</c> for up to 1000 times 3-30 s, so the consumer hung for hours holding its claim on the
/// exit; and a command sent to the agent's exchange while no queue was bound to it (the agent's queue deleted, or the
/// agent never started) was dropped by the broker and confirmed all the same, so the exit counted as acted on.
/// Now the command is mandatory (RabbitMQ returns what it cannot route) and the send has a deadline.
/// </summary>
public static class RestartCommands
{
    public static async Task SendAsync(ISendEndpointProvider sender, ProcessExited exited, TimeSpan timeout, CancellationToken ct)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(timeout);
        try
        {
            var agent = await sender.GetSendEndpoint(AgentQueues.Address(exited.Source.Node));
            switch (exited.Role)
            {
                case ProcessRole.NbdServer:
                    // The agent restarts the server and then its VM, once the server serves (queued while a repair owns
                    // the vdisk): one command, so the VM is restarted exactly once. RestartVm alone is for operators.
                    await agent.Send(new RestartNbdServer { Node = exited.Source.Node, ServerId = exited.Id }, Mandatory, deadline.Token);
                    break;
                case ProcessRole.TlogServer:
                    await agent.Send(new RestartTlogServer { Node = exited.Source.Node, ServerId = exited.Id }, Mandatory, deadline.Token);
                    break;
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new RestartNotDeliveredException(exited, $"the broker did not take it within {timeout} (the agent's queue refuses messages, or the broker is unreachable)");
        }
        catch (MessageReturnedException returned)
        {
            throw new RestartNotDeliveredException(exited, "no queue is bound to the agent's exchange (its agent never started, or its queue was deleted)", returned);
        }
        SchedulerTelemetry.Restarts.Add(1);
    }

    private static readonly IPipe<SendContext> Mandatory = Pipe.Execute<SendContext>(context =>
    {
        if (context.TryGetPayload(out RabbitMqSendContext? rabbit)) rabbit.Mandatory = true;
    });
}

/// <summary>A restart command that did not reach its agent's queue; the exit it answers is not acted on.</summary>
public sealed class RestartNotDeliveredException(ProcessExited exited, string reason, Exception? inner = null)
    : Exception($"restart of {exited.Role.ToWire()} {exited.Id} on {exited.Source.Node} not delivered: {reason}", inner);
