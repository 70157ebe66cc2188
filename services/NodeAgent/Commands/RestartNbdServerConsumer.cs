using MassTransit;
using Microsoft.Extensions.Hosting;
using ZeroDisk.Contracts;

namespace ZeroDisk.NodeAgent.Commands;

/// <summary>
/// Queues the (re)start; the launch may wait for a repair to end, so the message is not held meanwhile. The start is
/// recorded on disk before the message is acknowledged, so an agent killed meanwhile does not lose it.
/// </summary>
public sealed class RestartNbdServerConsumer(AgentOptions options, NbdServerLauncher launcher, IHostApplicationLifetime lifetime)
    : IConsumer<RestartNbdServer>
{
    public Task Consume(ConsumeContext<RestartNbdServer> context)
    {
        if (context.Message.Node != options.Node) return Task.CompletedTask;
        _ = launcher.LaunchAsync(context.Message.ServerId, lifetime.ApplicationStopping);
        return Task.CompletedTask;
    }
}
