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
        using var dir = new TempDirectory("zd-agent-repair-vm");
        await using var held = await VdiskHeldByRepair.StartAsync(dir);
        var (agent, server, vdisk, calls) = (held.Agent, held.Server, held.Vdisk, held.HookCalls);
        Assert.Equal($"repair@{agent.Node}", held.RepairOwner.Server);

        await held.Bus.Bus.Publish(new RestartNbdServer { Node = agent.Node, ServerId = server });
        var deferred = await held.DeferredAsync();
        Assert.Equal(vdisk, deferred!.VdiskId);
        Assert.Equal(held.RepairOwner.Server, deferred.RepairOwner);
        var log = agent.PathsOf(ProcessRole.NbdServer, server).LogFile;
        Assert.Contains($"start of nbdserver {server} refused: vdisk {vdisk} is under repair", File.ReadAllText(log));
        await Task.Delay(1000); // the start stays queued while the repair runs
        Assert.False(File.Exists(agent.PathsOf(ProcessRole.NbdServer, server).PidFile), "the NBD server was started during the repair");
        Assert.False(File.Exists(calls));

        held.FinishRepair();
        held.NbdPid = await agent.WaitForPidAsync(ProcessRole.NbdServer, server, TimeSpan.FromSeconds(60));
        // The hook creates its file before it writes the line: wait for the line, not for the file.
        await Eventually.ValueAsync(() => Task.FromResult(File.Exists(calls) ? File.ReadAllText(calls) : null), c => c is { Length: > 0 } && c.EndsWith('\n'), TimeSpan.FromSeconds(60));
        Assert.Equal([server], File.ReadAllLines(calls));
        var vmOwner = await VdiskOwnership.ReadAsync(agent.Etcd, vdisk, CancellationToken.None);
        Assert.Equal(VdiskOwnerKind.Vm, vmOwner!.Kind);
    }
}
