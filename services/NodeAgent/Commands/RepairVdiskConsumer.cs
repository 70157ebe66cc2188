using MassTransit;
using Microsoft.Extensions.Hosting;
using ZeroDisk.Contracts;

namespace ZeroDisk.NodeAgent.Commands;

/// <summary>Starts the job in the background: a repair outlives the message; its state is the owner lease in etcd.</summary>
public sealed class RepairVdiskConsumer(AgentOptions options, RepairJobRunner runner, IHostApplicationLifetime lifetime) : IConsumer<RepairVdisk>
{
    public Task Consume(ConsumeContext<RepairVdisk> context)
    {
        if (context.Message.Node == options.Node) _ = runner.StartAsync(context.Message, lifetime.ApplicationStopping);
        return Task.CompletedTask;
    }
}
