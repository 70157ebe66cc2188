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
                // The agent restarts the server and then its VM, once the server serves (queued while a repair owns
                // the vdisk): one command, so the VM is restarted exactly once. RestartVm alone is for operators.
                await agent.Send(new RestartNbdServer { Node = exited.Source.Node, ServerId = exited.Id }, ct);
                break;
            case ProcessRole.TlogServer:
                await agent.Send(new RestartTlogServer { Node = exited.Source.Node, ServerId = exited.Id }, ct);
                break;
        }
        SchedulerTelemetry.Restarts.Add(1);
    }
}
