using MassTransit;
using Microsoft.Extensions.Hosting;
using ZeroDisk.Contracts;

namespace ZeroDisk.NodeAgent.Commands;

public sealed class RestartTlogServerConsumer(AgentOptions options, ChildSupervisor supervisor, ChildCommands commands, IHostApplicationLifetime lifetime)
    : IConsumer<RestartTlogServer>
{
    public async Task Consume(ConsumeContext<RestartTlogServer> context)
    {
        if (context.Message.Node != options.Node) return; // published to every agent's queue; addressed to one node
        await supervisor.StartAsync(commands.TlogServer(context.Message.ServerId), lifetime.ApplicationStopping);
    }
}
