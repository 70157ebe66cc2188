using MassTransit;
using ZeroDisk.Contracts;

namespace ZeroDisk.RepairScheduler.Restarts;

/// <summary>The commands that bring a crashed process back, sent to its node's agent.</summary>
public static class RestartCommands
{
    public static async Task SendAsync(ISendEndpointProvider sender, ProcessExited exited, CancellationToken ct)
    {
        var agent = await sender.GetSendEndpoint(AgentQueues.Address(exited.Source.Node));
        switch (exited.Role)
        {
            case ProcessRole.NbdServer:
                await agent.Send(new RestartNbdServer { Node = exited.Source.Node, ServerId = exited.Id }, ct);
                // The agent calls the VM hook once the restarted server serves (queued while a repair owns the vdisk).
                await agent.Send(new RestartVm { Node = exited.Source.Node, ServerId = exited.Id }, ct);
                break;
            case ProcessRole.TlogServer:
                await agent.Send(new RestartTlogServer { Node = exited.Source.Node, ServerId = exited.Id }, ct);
                break;
        }
        SchedulerTelemetry.Restarts.Add(1);
    }
}
