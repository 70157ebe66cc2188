using ZeroDisk.NodeAgent;

namespace ZeroDisk.NbdHost.Agent.Tests;

/// <summary>
/// A start refused because another node's repair holds the vdisk is written to the server's log stream. An agent that
/// had started no child yet had no log directory: the write threw, the launch logged "not started" and ended, and
/// the server stayed down after the repair (seen as a flaky When_an_nbd_server_is_started_for_a_vdisk_under_repair,
/// whose own repair child usually made the directory first).
/// </summary>
public class When_a_fresh_agent_defers_a_start_for_another_nodes_repair
{
    [Fact]
    public async Task The_refusal_is_logged_and_the_server_starts_when_the_repair_ends()
    {
        var infra = await SharedInfrastructure.GetAsync();
        using var dir = new TempDirectory("zd-agent-fresh-defer");
        var vdisk = TestNames.Unique("vd");
        var server = TestNames.Unique("vm");
        var nbd = Scripts.OwningNbdServer(dir.File("nbd.sh"), infra.EtcdEndpoints, vdisk);
        var hook = Scripts.Recorder(dir.File("hook.sh"), dir.File("vm-hook.calls"));
        await using var agent = await AgentUnderTest.StartAsync(infra, TestNames.Unique("node"), dir.Path, "--nbd-command", $"{nbd} {{id}}", "--vm-hook", hook);
        await using var bus = await TestBus.StartAsync(infra);
        int? nbdPid = null;
        try
        {
            await agent.Etcd.PutAsync(EtcdKeys.NbdServerVdisks(server), new NbdServerVdisksConfig([vdisk]), 0, CancellationToken.None);
            await agent.Etcd.PutAsync(EtcdKeys.VdiskOwner(vdisk), new VdiskOwner("repair@another-node", VdiskOwnerKind.Repair, 7), 0, CancellationToken.None);
            Assert.False(Directory.Exists(agent.LogDirectory), "the agent made its log directory before any child: the test shows nothing");

            await bus.Bus.Publish(new RestartNbdServer { Node = agent.Node, ServerId = server });
            await Eventually.TrueAsync(() => bus.Deferred.Any(d => d.ServerId == server), TimeSpan.FromSeconds(60), "the agent defers the start", () => agent.Stderr);
            var log = agent.PathsOf(ProcessRole.NbdServer, server).LogFile;
            await Eventually.TrueAsync(() => File.Exists(log) && File.ReadAllText(log).Contains("is under repair", StringComparison.Ordinal),
                TimeSpan.FromSeconds(10), "the refusal is in the server's log stream");

            await agent.DeleteKeysAsync(EtcdKeys.VdiskOwner(vdisk));
            nbdPid = await agent.WaitForPidAsync(ProcessRole.NbdServer, server, TimeSpan.FromSeconds(60));
            Assert.DoesNotContain("not started", agent.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            if (nbdPid is { } pid) ChildProcesses.KillQuietly(pid);
            await agent.DeleteKeysAsync(EtcdKeys.NbdServerVdisks(server), EtcdKeys.VdiskOwner(vdisk));
        }
    }
}
