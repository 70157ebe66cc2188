using ZeroDisk.Storage.Ownership;
using ZeroDisk.NodeAgent;

namespace ZeroDisk.NbdHost.Agent.Tests;

/// <summary>
/// A repair job holds the vdisk (owner key, kind repair). A RestartNbdServer for the VM's server is refused: a line
/// in the server's log stream and an NbdServerStartDeferred event, and no process. When the repair ends the queued
/// start happens, and the VM hook is called once the server owns its vdisk.
/// </summary>
public class When_an_nbd_server_is_started_for_a_vdisk_under_repair
{
    [Fact]
    public async Task The_start_is_refused_queued_and_done_when_the_repair_ends()
    {
        var infra = await SharedInfrastructure.GetAsync();
        using var dir = new TempDirectory("zd-agent-repair-vm");
        var vdisk = TestNames.Unique("vd");
        var server = TestNames.Unique("vm");
        var finish = dir.File("finish");
        var calls = dir.File("vm-hook.calls");
        var repair = Scripts.RepairUntil(dir.File("repair.sh"), finish);
        var nbd = Scripts.OwningNbdServer(dir.File("nbd.sh"), infra.EtcdEndpoints, vdisk);
        var hook = Scripts.Recorder(dir.File("hook.sh"), calls);
        await using var agent = await AgentUnderTest.StartAsync(infra, TestNames.Unique("node"), dir.Path,
            "--repair-command", $"{repair} {{vdisk}} {{epoch}}", "--nbd-command", $"{nbd} {{id}}", "--vm-hook", hook, "--repair-lease-ttl", "3");
        await using var bus = await TestBus.StartAsync(infra);
        int? nbdPid = null;
        try
        {
            await agent.Etcd.PutAsync(EtcdKeys.NbdServerVdisks(server), new NbdServerVdisksConfig([vdisk]), 0, CancellationToken.None);
            await bus.Bus.Publish(new RepairVdisk { Node = agent.Node, VdiskId = vdisk, Address = "127.0.0.1:1", Kind = RepairKind.Tmp, Incident = "inc-1" });
            var owner = await Eventually.ValueAsync(() => VdiskOwnership.ReadAsync(agent.Etcd, vdisk, CancellationToken.None), o => o is not null, TimeSpan.FromSeconds(60));
            Assert.Equal(new VdiskOwner($"repair@{agent.Node}", VdiskOwnerKind.Repair, owner!.Epoch), owner);

            await bus.Bus.Publish(new RestartNbdServer { Node = agent.Node, ServerId = server });
            var deferred = await Eventually.ValueAsync(() => Task.FromResult(bus.Deferred.FirstOrDefault(d => d.ServerId == server)), d => d is not null, TimeSpan.FromSeconds(60));
            Assert.Equal(vdisk, deferred!.VdiskId);
            Assert.Equal(owner.Server, deferred.RepairOwner);
            var log = agent.PathsOf(ProcessRole.NbdServer, server).LogFile;
            Assert.Contains($"start of nbdserver {server} refused: vdisk {vdisk} is under repair", File.ReadAllText(log));
            await Task.Delay(1000); // the start stays queued while the repair runs
            Assert.False(File.Exists(agent.PathsOf(ProcessRole.NbdServer, server).PidFile), "the NBD server was started during the repair");
            Assert.False(File.Exists(calls));

            File.WriteAllText(finish, "");
            nbdPid = await agent.WaitForPidAsync(ProcessRole.NbdServer, server, TimeSpan.FromSeconds(60));
            // The hook creates its file before it writes the line: wait for the line, not for the file.
            await Eventually.ValueAsync(() => Task.FromResult(File.Exists(calls) ? File.ReadAllText(calls) : null), c => c is { Length: > 0 } && c.EndsWith('\n'), TimeSpan.FromSeconds(60));
            Assert.Equal([server], File.ReadAllLines(calls));
            var vmOwner = await VdiskOwnership.ReadAsync(agent.Etcd, vdisk, CancellationToken.None);
            Assert.Equal(VdiskOwnerKind.Vm, vmOwner!.Kind);
        }
        finally
        {
            if (nbdPid is { } pid) ChildProcesses.KillQuietly(pid);
            File.WriteAllText(finish, "");
            await agent.DeleteKeysAsync(EtcdKeys.NbdServerVdisks(server), EtcdKeys.VdiskOwner(vdisk));
        }
    }
}
