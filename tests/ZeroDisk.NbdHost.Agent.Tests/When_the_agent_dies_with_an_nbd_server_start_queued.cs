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
        var infra = await SharedInfrastructure.GetAsync();
        using var dir = new TempDirectory("zd-agent-queued-start");
        var vdisk = TestNames.Unique("vd");
        var server = TestNames.Unique("vm");
        var finish = dir.File("finish");
        var repair = Scripts.RepairUntil(dir.File("repair.sh"), finish);
        var nbd = Scripts.OwningNbdServer(dir.File("nbd.sh"), infra.EtcdEndpoints, vdisk);
        var hook = Scripts.Recorder(dir.File("hook.sh"), dir.File("vm-hook.calls"));
        await using var agent = await AgentUnderTest.StartAsync(infra, TestNames.Unique("node"), dir.Path,
            "--repair-command", $"{repair} {{vdisk}} {{epoch}}", "--nbd-command", $"{nbd} {{id}}", "--vm-hook", hook, "--repair-lease-ttl", "3");
        await using var bus = await TestBus.StartAsync(infra);
        int? nbdPid = null;
        try
        {
            await agent.Etcd.PutAsync(EtcdKeys.NbdServerVdisks(server), new NbdServerVdisksConfig([vdisk]), 0, CancellationToken.None);
            await bus.Bus.Publish(new RepairVdisk { Node = agent.Node, VdiskId = vdisk, Address = "127.0.0.1:1", Kind = RepairKind.Tmp, Incident = "inc-1" });
            await Eventually.ValueAsync(() => VdiskOwnership.ReadAsync(agent.Etcd, vdisk, CancellationToken.None), o => o is { Kind: VdiskOwnerKind.Repair }, TimeSpan.FromSeconds(60));
            await bus.Bus.Publish(new RestartNbdServer { Node = agent.Node, ServerId = server });
            await Eventually.ValueAsync(() => Task.FromResult(bus.Deferred.FirstOrDefault(d => d.ServerId == server)), d => d is not null, TimeSpan.FromSeconds(60));

            await agent.KillAsync();
            await agent.RestartAsync();
            File.WriteAllText(finish, ""); // the repair (a child that outlived the agent) ends and releases the vdisk

            nbdPid = await agent.WaitForPidAsync(ProcessRole.NbdServer, server, TimeSpan.FromSeconds(60));
            var owner = await Eventually.ValueAsync(() => VdiskOwnership.ReadAsync(agent.Etcd, vdisk, CancellationToken.None), o => o is { Kind: VdiskOwnerKind.Vm }, TimeSpan.FromSeconds(60));
            Assert.Equal(server, owner!.Server);
            Assert.Contains($"Resuming the start of NBD server {server}", agent.Stderr);
        }
        finally
        {
            if (nbdPid is { } pid) ChildProcesses.KillQuietly(pid);
            File.WriteAllText(finish, "");
            await agent.DeleteKeysAsync(EtcdKeys.NbdServerVdisks(server), EtcdKeys.VdiskOwner(vdisk));
        }
    }
}
