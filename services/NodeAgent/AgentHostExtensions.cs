using ZeroDisk.Storage.Ownership;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ZeroDisk.NodeAgent.Commands;
using ZeroDisk.ServiceDefaults.Etcd;
using ZeroDisk.ServiceDefaults.Messaging;

namespace ZeroDisk.NodeAgent;

/// <summary>The wiring of <c>nbdhost agent</c>: supervisor, etcd, its commands queue <c>agent-&lt;node&gt;</c>, registration.</summary>
public static class AgentHostExtensions
{
    public static IHostApplicationBuilder AddNodeAgent(this IHostApplicationBuilder builder, AgentOptions options)
    {
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(_ => new EtcdGrpc(options.EtcdEndpoints));
        builder.AddEtcd(options.EtcdEndpoints); // its readiness check
        builder.Services.AddSingleton(sp => new ChildSupervisor(options.LogDirectory, options.StateDirectory,
            sp.GetRequiredService<ILoggerFactory>().CreateLogger<ChildSupervisor>()));
        builder.Services.AddSingleton<ChildCommands>();
        builder.Services.AddSingleton<VmHook>();
        builder.Services.AddSingleton<PendingLaunches>();
        builder.Services.AddSingleton<NbdServerLauncher>();
        builder.Services.AddSingleton<RepairJobRunner>();
        // Hosted services start in this order: adopt the children first, then consume commands, then announce the
        // agent (the registration means "ready").
        builder.Services.AddHostedService<ChildAdoption>();
        builder.AddMessaging(bus =>
        {
            // One queue per node; the commands carry the node too, so a publish reaching every agent is harmless.
            bus.AddConsumer<RestartNbdServerConsumer>().Endpoint(e => e.Name = options.QueueName);
            bus.AddConsumer<RestartTlogServerConsumer>().Endpoint(e => e.Name = options.QueueName);
            bus.AddConsumer<RepairVdiskConsumer>().Endpoint(e => e.Name = options.QueueName);
            bus.AddConsumer<RestartVmConsumer>().Endpoint(e => e.Name = options.QueueName);
        });
        builder.Services.AddHostedService<AgentRegistrar>();
        return builder;
    }

    /// <summary>
    /// Adopts the children of a previous agent before any command is consumed, then resumes the NBD-server starts it
    /// acknowledged and did not do; leaves the children running at stop.
    /// </summary>
    private sealed class ChildAdoption(ChildSupervisor supervisor, NbdServerLauncher launcher, IHostApplicationLifetime lifetime) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            supervisor.AdoptAll();
            launcher.ResumePending(lifetime.ApplicationStopping);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken)
        {
            supervisor.Dispose();
            return Task.CompletedTask;
        }
    }
}
