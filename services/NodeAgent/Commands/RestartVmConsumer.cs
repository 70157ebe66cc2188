using MassTransit;
using ZeroDisk.Contracts;

namespace ZeroDisk.NodeAgent.Commands;

public sealed class RestartVmConsumer(AgentOptions options, VmHook hook) : IConsumer<RestartVm>
{
    public async Task Consume(ConsumeContext<RestartVm> context)
    {
        if (context.Message.Node == options.Node) await hook.RunAsync(context.Message.ServerId, context.CancellationToken);
    }
}
