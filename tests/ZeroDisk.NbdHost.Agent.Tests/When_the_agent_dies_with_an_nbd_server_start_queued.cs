using ZeroDisk.Storage.Ownership;
using ZeroDisk.NodeAgent;

namespace ZeroDisk.NbdHost.Agent.Tests;

/// <summary>
/// A RestartNbdServer is acknowledged when its launch is queued, and the launch waits while a repair holds the vdisk.
/// The agent is SIGKILLed meanwhile and started again: the new agent must still start the server once the repair
/// ends (the fault checker's AgentKill during a restart), not leave a crashed server down for good.
/// </summary>
public class When_the_agent_dies_with_an_nbd_server_start_queued
{
    [Fact]
    public async Task The_next_agent_starts_the_server_when_the_repair_ends()
    {
        using var dir = new TempDirectory("zd-agent-queued-start");
        await using var held = await VdiskHeldByRepair.StartAsync(dir);
        var (agent, server) = (held.Agent, held.Server);
        await held.Bus.Bus.Publish(new RestartNbdServer { Node = agent.Node, ServerId = server });
        await held.DeferredAsync();

        await agent.KillAsync();
        await agent.RestartAsync();
        held.FinishRepair();

        held.NbdPid = await agent.WaitForPidAsync(ProcessRole.NbdServer, server, TimeSpan.FromSeconds(60));
        var owner = await Eventually.ValueAsync(() => VdiskOwnership.ReadAsync(agent.Etcd, held.Vdisk, CancellationToken.None), o => o is { Kind: VdiskOwnerKind.Vm }, TimeSpan.FromSeconds(60));
        Assert.Equal(server, owner!.Server);
        Assert.Contains($"Resuming the start of NBD server {server}", agent.Stderr);
    }
}
