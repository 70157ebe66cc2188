using ZeroDisk.NodeAgent;

namespace ZeroDisk.NbdHost.Agent.Tests;

/// <summary>
/// Fault-check seed 1018: etcd was SIGKILLed while an NBD server's restart command was on its way. The agent took the
/// command, could not read the server's vdisks from etcd, logged "not started" and dropped it; the server stayed
/// down for good (the command was already acknowledged). The start now waits for etcd, on an etcd of the test's own.
/// </summary>
public class When_etcd_is_down_as_an_nbd_server_restart_arrives
{
    [Fact]
    public async Task Seed_1018_the_start_waits_for_etcd_then_the_server_and_its_vm_are_restarted()
    {
        var shared = await SharedInfrastructure.GetAsync();
        await using var etcd = await EtcdClusterProcess.StartAsync(members: 1);
        var infra = shared with { EtcdEndpoints = etcd.Endpoints };
        using var dir = new TempDirectory("zd-agent-etcd-down");
        var vdisk = TestNames.Unique("vd");
        var server = TestNames.Unique("vm");
        var calls = dir.File("vm-hook.calls");
        var nbd = Scripts.OwningNbdServer(dir.File("nbd.sh"), infra.EtcdEndpoints, vdisk);
        var hook = Scripts.Recorder(dir.File("hook.sh"), calls);
        await using var agent = await AgentUnderTest.StartAsync(infra, TestNames.Unique("node"), dir.Path, "--nbd-command", $"{nbd} {{id}}", "--vm-hook", hook);
        await using var bus = await TestBus.StartAsync(infra);
        int? nbdPid = null;
        try
        {
            await agent.Etcd.PutAsync(EtcdKeys.NbdServerVdisks(server), new NbdServerVdisksConfig([vdisk]), 0, CancellationToken.None);
            await etcd.KillAsync(0);

            await bus.Bus.Publish(new RestartNbdServer { Node = agent.Node, ServerId = server });
            await Eventually.TrueAsync(() => agent.Stderr.Contains($"Start of NBD server {server} waits for etcd", StringComparison.Ordinal),
                TimeSpan.FromSeconds(60), "the agent took the command while etcd is down");
            Assert.False(File.Exists(agent.PathsOf(ProcessRole.NbdServer, server).PidFile), "started without knowing its vdisks");

            await etcd.StartAgainAsync(0);
            nbdPid = await agent.WaitForPidAsync(ProcessRole.NbdServer, server, TimeSpan.FromSeconds(90));
            // The hook creates its file before it writes the line: wait for the line, not for the file.
            await Eventually.ValueAsync(() => Task.FromResult(File.Exists(calls) ? File.ReadAllText(calls) : null), c => c is { Length: > 0 } && c.EndsWith('\n'), TimeSpan.FromSeconds(90));
            Assert.Equal([server], File.ReadAllLines(calls));
            Assert.DoesNotContain("not started", agent.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            if (nbdPid is { } pid) ChildProcesses.KillQuietly(pid);
        }
    }
}
