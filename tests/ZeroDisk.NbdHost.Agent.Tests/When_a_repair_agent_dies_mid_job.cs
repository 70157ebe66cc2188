using ZeroDisk.Storage.Ownership;
using System.Diagnostics;
using ZeroDisk.NodeAgent;

namespace ZeroDisk.NbdHost.Agent.Tests;

/// <summary>
/// Agent A runs a repair job (owner key kind repair under a 2 s lease, heartbeat key). A dispatch to agent B meanwhile
/// is refused. A is SIGKILLed mid-job: the lease expires, the owner key goes, and a second dispatch to B takes the job
/// over with a higher epoch; when B's repair ends the vdisk is released.
/// </summary>
public class When_a_repair_agent_dies_mid_job(ITestOutputHelper output)
{
    [Fact]
    public async Task The_lease_expires_and_a_second_dispatch_takes_the_job_over()
    {
        var infra = await SharedInfrastructure.GetAsync();
        using var dir = new TempDirectory("zd-agent-repair-kill");
        var vdisk = TestNames.Unique("vd");
        var finish = dir.File("finish");
        var repair = Scripts.RepairUntil(dir.File("repair.sh"), finish);
        string[] options = ["--repair-command", $"{repair} {{vdisk}} {{epoch}}", "--repair-lease-ttl", "2"];
        await using var agentA = await AgentUnderTest.StartAsync(infra, TestNames.Unique("node-a"), Path.Combine(dir.Path, "a"), options);
        await using var agentB = await AgentUnderTest.StartAsync(infra, TestNames.Unique("node-b"), Path.Combine(dir.Path, "b"), options);
        await using var bus = await TestBus.StartAsync(infra);
        var etcd = agentA.Etcd;
        var job = new RepairVdisk { Node = agentA.Node, VdiskId = vdisk, Address = "127.0.0.1:1", Kind = RepairKind.Final, Incident = "inc-7" };
        try
        {
            await bus.Bus.Publish(job);
            var ownerA = await Eventually.ValueAsync(() => VdiskOwnership.ReadAsync(etcd, vdisk, CancellationToken.None), o => o is not null, TimeSpan.FromSeconds(60));
            Assert.Equal($"repair@{agentA.Node}", ownerA!.Server);
            Assert.Equal(VdiskOwnerKind.Repair, ownerA.Kind);
            var status = await Eventually.ValueAsync(() => etcd.GetAsync<RepairJobStatus>(EtcdKeys.RepairJob(vdisk), CancellationToken.None), s => s is not null, TimeSpan.FromSeconds(10));
            Assert.Equal((agentA.Node, "inc-7", RepairKind.Final, ownerA.Epoch), (status!.Value.Node, status.Value.Incident, status.Value.Kind, status.Value.Epoch));
            var repairA = await agentA.WaitForPidAsync(ProcessRole.NbdServer, ChildCommands.RepairChildId(vdisk), TimeSpan.FromSeconds(10));

            // While A holds the job, a dispatch to B does not run a second repair.
            await bus.Bus.Publish(job with { Node = agentB.Node });
            await Eventually.ValueAsync(() => Task.FromResult(agentB.Stderr), e => e.Contains($"repair of {vdisk} not started on {agentB.Node}"), TimeSpan.FromSeconds(60));
            Assert.Equal(ownerA, await VdiskOwnership.ReadAsync(etcd, vdisk, CancellationToken.None));

            // A dies mid-job: nothing renews its lease, etcd drops the owner key after the TTL.
            var sinceKill = Stopwatch.StartNew();
            await agentA.KillAsync();
            await Eventually.ValueAsync(() => VdiskOwnership.ReadAsync(etcd, vdisk, CancellationToken.None), o => o is null, TimeSpan.FromSeconds(15));
            output.WriteLine($"owner key of the dead agent's job expired {sinceKill.Elapsed.TotalSeconds:0.0} s after SIGKILL (lease TTL 2 s)");
            Assert.Null(await etcd.GetAsync<RepairJobStatus>(EtcdKeys.RepairJob(vdisk), CancellationToken.None));

            await bus.Bus.Publish(job with { Node = agentB.Node });
            var ownerB = await Eventually.ValueAsync(() => VdiskOwnership.ReadAsync(etcd, vdisk, CancellationToken.None), o => o is not null, TimeSpan.FromSeconds(60));
            Assert.Equal($"repair@{agentB.Node}", ownerB!.Server);
            Assert.True(ownerB.Epoch > ownerA.Epoch, $"epoch {ownerB.Epoch} of the new job is not above {ownerA.Epoch}");
            await agentB.WaitForPidAsync(ProcessRole.NbdServer, ChildCommands.RepairChildId(vdisk), TimeSpan.FromSeconds(10));

            // B's repair ends: the vdisk is released at once (lease revoked), and no crash is reported for it.
            File.WriteAllText(finish, "");
            await Eventually.ValueAsync(() => VdiskOwnership.ReadAsync(etcd, vdisk, CancellationToken.None), o => o is null, TimeSpan.FromSeconds(10));
            var repairLog = File.ReadAllText(agentB.PathsOf(ProcessRole.NbdServer, ChildCommands.RepairChildId(vdisk)).LogFile);
            Assert.Contains($"repair of {vdisk} done", repairLog);
            Assert.DoesNotContain(StderrEvent.ProcessExitedType, repairLog);
            ChildProcesses.KillQuietly(repairA);
        }
        finally
        {
            File.WriteAllText(finish, "");
            await agentA.DeleteKeysAsync(EtcdKeys.VdiskOwner(vdisk), EtcdKeys.RepairJob(vdisk));
        }
    }
}
