using ZeroDisk.Storage.Ownership;

namespace ZeroDisk.NbdHost.Agent.Tests;

/// <summary>
/// An agent whose repair command runs until <see cref="FinishRepair"/>, whose NBD server command owns its vdisk, and
/// whose VM hook records its calls; a VM's server uses one vdisk, and a repair holds that vdisk (owner kind repair).
/// What the tests of a start queued behind a repair begin with.
/// </summary>
public sealed class VdiskHeldByRepair : IAsyncDisposable
{
    private readonly string _finish;

    private VdiskHeldByRepair(AgentUnderTest agent, TestBus bus, string vdisk, string server, string finish, string hookCalls, VdiskOwner owner)
    {
        (Agent, Bus, Vdisk, Server, _finish, HookCalls, RepairOwner) = (agent, bus, vdisk, server, finish, hookCalls, owner);
    }

    public AgentUnderTest Agent { get; }
    public TestBus Bus { get; }
    public string Vdisk { get; }
    public string Server { get; }
    /// <summary>The VM hook's record: one line per call.</summary>
    public string HookCalls { get; }
    public VdiskOwner RepairOwner { get; }
    public int? NbdPid { get; set; }

    public static async Task<VdiskHeldByRepair> StartAsync(TempDirectory dir)
    {
        var infra = await SharedInfrastructure.GetAsync();
        var vdisk = TestNames.Unique("vd");
        var server = TestNames.Unique("vm");
        var finish = dir.File("finish");
        var calls = dir.File("vm-hook.calls");
        var repair = Scripts.RepairUntil(dir.File("repair.sh"), finish);
        var nbd = Scripts.OwningNbdServer(dir.File("nbd.sh"), infra.EtcdEndpoints, vdisk);
        var hook = Scripts.Recorder(dir.File("hook.sh"), calls);
        var agent = await AgentUnderTest.StartAsync(infra, TestNames.Unique("node"), dir.Path,
            "--repair-command", $"{repair} {{vdisk}} {{epoch}}", "--nbd-command", $"{nbd} {{id}}", "--vm-hook", hook,
            // Short, so a lease left by a killed agent lapses soon; not so short that a loaded machine's late keep-alive
            // ends the repair under the test (a start is then not deferred at all).
            "--repair-lease-ttl", "6");
        var bus = await TestBus.StartAsync(infra);
        await agent.Etcd.PutAsync(EtcdKeys.NbdServerVdisks(server), new NbdServerVdisksConfig([vdisk]), 0, CancellationToken.None);
        await bus.Bus.Publish(new RepairVdisk { Node = agent.Node, VdiskId = vdisk, Address = "127.0.0.1:1", Kind = RepairKind.Tmp, Incident = "inc-1" });
        var owner = await Eventually.ValueAsync(() => VdiskOwnership.ReadAsync(agent.Etcd, vdisk, CancellationToken.None), o => o is { Kind: VdiskOwnerKind.Repair }, TimeSpan.FromSeconds(60));
        return new VdiskHeldByRepair(agent, bus, vdisk, server, finish, calls, owner!);
    }

    /// <summary>Waits for the agent's NbdServerStartDeferred for <see cref="Server"/>; a timeout says what the agent logged.</summary>
    public Task<NbdServerStartDeferred?> DeferredAsync() =>
        Eventually.ValueAsync(() => Task.FromResult(Bus.Deferred.FirstOrDefault(d => d.ServerId == Server)), d => d is not null, TimeSpan.FromSeconds(60),
            what: $"the agent defers the start of {Server}", detail: () => $"agent stderr:\n{Agent.Stderr}");

    /// <summary>The repair (a child of the agent, which outlives it) ends and releases the vdisk.</summary>
    public void FinishRepair() => File.WriteAllText(_finish, "");

    public async ValueTask DisposeAsync()
    {
        if (NbdPid is { } pid) ChildProcesses.KillQuietly(pid);
        FinishRepair();
        await Agent.DeleteKeysAsync(EtcdKeys.NbdServerVdisks(Server), EtcdKeys.VdiskOwner(Vdisk));
        await Bus.DisposeAsync();
        await Agent.DisposeAsync();
    }
}
