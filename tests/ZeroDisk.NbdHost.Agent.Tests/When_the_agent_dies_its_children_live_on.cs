using System.Diagnostics;

namespace ZeroDisk.NbdHost.Agent.Tests;

/// <summary>
/// SIGKILL the agent: its children keep running. One child dies while no agent runs; a restarted agent adopts the
/// other from its pid file, reports the one that died meanwhile, and notices the adopted one's exit via pidfd.
/// </summary>
public class When_the_agent_dies_its_children_live_on(ITestOutputHelper output)
{
    [Fact]
    public async Task A_restarted_agent_adopts_them_and_reports_their_exits()
    {
        var infra = await SharedInfrastructure.GetAsync();
        using var dir = new TempDirectory("zd-agent-adopt");
        await using var agent = await AgentUnderTest.StartAsync(infra, TestNames.Unique("node"), dir.Path, "--nbd-command", "/bin/sleep 300");
        await using var bus = await TestBus.StartAsync(infra);
        var pids = new List<int>();
        // Unique server ids: the agent reads <id>:nbdserver:conf:vdisks from the shared etcd.
        var (vmA, vmB) = (TestNames.Unique("vm-a"), TestNames.Unique("vm-b"));
        try
        {
            await bus.Bus.Publish(new RestartNbdServer { Node = agent.Node, ServerId = vmA });
            await bus.Bus.Publish(new RestartNbdServer { Node = agent.Node, ServerId = vmB });
            var a = await agent.WaitForPidAsync(ProcessRole.NbdServer, vmA, TimeSpan.FromSeconds(60));
            var b = await agent.WaitForPidAsync(ProcessRole.NbdServer, vmB, TimeSpan.FromSeconds(60));
            pids.AddRange([a, b]);

            await agent.KillAsync();
            await Task.Delay(200);
            Assert.True(ProcessState.IsAlive(a), "vm-a died with the agent");
            Assert.True(ProcessState.IsAlive(b), "vm-b died with the agent");

            ChildProcesses.SigKill(b); // dies while no agent watches
            await agent.RestartAsync();
            var missed = await ChildProcesses.WaitForExitLineAsync(agent.PathsOf(ProcessRole.NbdServer, vmB).LogFile, TimeSpan.FromSeconds(10));
            Assert.Equal(new ProcessExitedLine(ProcessRole.NbdServer, vmB, 137), missed);

            Assert.True(ProcessState.IsAlive(a));
            var sinceKill = Stopwatch.StartNew();
            ChildProcesses.SigKill(a);
            var adopted = await ChildProcesses.WaitForExitLineAsync(agent.PathsOf(ProcessRole.NbdServer, vmA).LogFile, TimeSpan.FromSeconds(5));
            output.WriteLine($"adopted child SIGKILL → process-exited line: {sinceKill.Elapsed.TotalMilliseconds:0.0} ms");
            Assert.Equal(new ProcessExitedLine(ProcessRole.NbdServer, vmA, 137), adopted);
            Assert.True(sinceKill.Elapsed < TimeSpan.FromSeconds(1), $"adopted child's exit reported after {sinceKill.Elapsed.TotalMilliseconds:0} ms");
        }
        finally
        {
            foreach (var pid in pids) ChildProcesses.KillQuietly(pid);
        }
    }
}
