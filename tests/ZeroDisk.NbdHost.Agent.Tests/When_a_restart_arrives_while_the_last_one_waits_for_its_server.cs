using ZeroDisk.NodeAgent;

namespace ZeroDisk.NbdHost.Agent.Tests;

/// <summary>
/// Fault-check seed 1 in CI (OwnerLeaseLapse, ServeKill twice): the NBD server was killed again 8 s after its restart,
/// while that restart's launch still waited for the server to own its vdisks before running the VM hook. The
/// scheduler's second restart command joined that launch as if it were still queued; the launch then saw its server
/// gone, ended, and nothing started the server again: both its vdisks stayed unserved. A command that comes once the
/// server has been started is a restart of its own.
/// </summary>
public class When_a_restart_arrives_while_the_last_one_waits_for_its_server
{
    [Fact]
    public async Task The_server_is_started_again()
    {
        var infra = await SharedInfrastructure.GetAsync();
        using var dir = new TempDirectory("zd-agent-second-restart");
        var vdisk = TestNames.Unique("vd");
        var server = TestNames.Unique("vm");
        // Runs without ever owning its vdisk: the launch that started it keeps waiting for it to serve.
        var nbd = Scripts.Write(dir.File("nbd.sh"), "exec sleep 300");
        var hook = Scripts.Recorder(dir.File("hook.sh"), dir.File("vm-hook.calls"));
        await using var agent = await AgentUnderTest.StartAsync(infra, TestNames.Unique("node"), dir.Path, "--nbd-command", $"{nbd} {{id}}", "--vm-hook", hook);
        await using var bus = await TestBus.StartAsync(infra);
        var pids = new List<int>();
        try
        {
            await agent.Etcd.PutAsync(EtcdKeys.NbdServerVdisks(server), new NbdServerVdisksConfig([vdisk]), 0, CancellationToken.None);
            await bus.Bus.Publish(new RestartNbdServer { Node = agent.Node, ServerId = server });
            pids.Add(await agent.WaitForPidAsync(ProcessRole.NbdServer, server, TimeSpan.FromSeconds(60)));

            await bus.Bus.Publish(new RestartNbdServer { Node = agent.Node, ServerId = server });
            var (restarted, second) = await Eventually.PollAsync(
                () => agent.WaitForPidAsync(ProcessRole.NbdServer, server, TimeSpan.FromSeconds(1)),
                pid => pid != pids[0], TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(100), ex => ex is TimeoutException);
            if (restarted) pids.Add(second);

            Assert.True(restarted, $"the second restart command started nothing; the server is still pid {pids[0]}: {agent.Stderr}");
            Assert.False(ProcessState.IsAlive(pids[0]), "the first process of the server still runs beside the second");
            Assert.False(File.Exists(Path.Combine(agent.StateDirectory, "pending-launches", server)), "the start is still recorded as pending");
        }
        finally
        {
            pids.ForEach(ChildProcesses.KillQuietly);
        }
    }
}
