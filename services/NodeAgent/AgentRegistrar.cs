using ZeroDisk.Storage.Ownership;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ZeroDisk.Contracts;

namespace ZeroDisk.NodeAgent;

/// <summary>
/// Keeps <c>zerodisk/agents/&lt;node&gt;</c> (node, storage address, load, heartbeat) under a lease, so the repair
/// scheduler sees which agents are alive and where to dispatch; it vanishes a TTL after the agent dies.
/// </summary>
public sealed class AgentRegistrar(AgentOptions options, EtcdGrpc etcd, ChildSupervisor supervisor, ILogger<AgentRegistrar> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var lease = await EtcdLease.GrantAsync(etcd, options.RegistrationTtl, logger, stoppingToken);
                using var session = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, lease.Lost);
                logger.LogInformation("agent {Node} registered under lease {Lease}", options.Node, lease.Id);
                while (!session.IsCancellationRequested)
                {
                    await etcd.PutAsync(EtcdKeys.Agent(options.Node),
                        new AgentRegistration(options.Node, options.StorageAddress, Load(), DateTimeOffset.UtcNow), lease.Id, session.Token);
                    await Task.Delay(lease.Ttl / 3, session.Token);
                }
            }
            catch (Exception) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                logger.LogWarning("agent registration lost ({Reason}); registering again", ex.Message);
                await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    /// <summary>The 1-minute load average per core, plus the children this agent runs (a cheap placement hint).</summary>
    private double Load()
    {
        try
        {
            var loadAverage = double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
            return Math.Round(loadAverage / Environment.ProcessorCount + supervisor.Running.Count / 100.0, 3);
        }
        catch (Exception ex) when (ex is IOException or FormatException)
        {
            return supervisor.Running.Count / 100.0;
        }
    }
}
