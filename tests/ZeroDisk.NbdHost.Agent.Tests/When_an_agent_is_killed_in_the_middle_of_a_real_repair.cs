using System.Diagnostics;
using StackExchange.Redis;
using ZeroDisk.ServiceDefaults.Engines;
using ZeroDisk.Storage.Ownership;
using ZeroDisk.Storage.RepairCopy;
using ZeroDisk.Storage;
using ZeroDisk.NodeAgent;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.NbdHost.Agent.Tests;

/// <summary>
/// A vdisk nobody serves, its primary engine back from a temporary outage with 32 MiB to resync. Agent A runs the
/// real repair job (<c>nbdhost serve --repair</c>, paced to 4 MiB/s) and is SIGKILLed a quarter of the way in: its
/// orphaned repair process notices within the lease TTL that the vdisk is no longer its own and stops (no second
/// writer); a second dispatch to agent B resumes from the dirty set, copies only the blocks left, and the engine ends
/// with exactly the data of its twin and of the client.
/// </summary>
public class When_an_agent_is_killed_in_the_middle_of_a_real_repair(ITestOutputHelper output)
{
    private const int MiB = 1 << 20;
    private const int DirtyBlocks = 32 * MiB / 4096; // the shard-0 half of a 64 MiB write

    [Fact]
    public async Task The_orphan_stops_and_a_second_dispatch_copies_only_what_is_left()
    {
        var infra = await SharedInfrastructure.GetAsync();
        using var etcd = EtcdExtensions.CreateClient(infra.EtcdEndpoints);
        using var dir = new TempDirectory("zd-agent-real-repair");
        await using var clusters = await RedisClusters.StartAsync(shards: 2);
        var layout = await VdiskLayout.WriteAsync(etcd, clusters);
        var (engine, twin) = (clusters.Primary[0], clusters.Slave[0]);
        using var engineRedis = await EngineConnection.ConnectAsync($"{engine.Address},abortConnect=false");
        using var twinRedis = await EngineConnection.ConnectAsync(twin.Address);
        var dirtyKey = RedisKeys.DirtyBlocks(layout.VdiskId, engine.Address);
        Task<long> DirtyLeft() => twinRedis.GetDatabase().SetLengthAsync(dirtyKey);

        // The VM's server writes, loses the primary engine of shard 0, writes again, and stops: nobody serves the vdisk.
        await using (var serve = await StartServeAsync(infra, layout, dir.File("serve-1.out")))
        {
            try
            {
                await NbdClients.QemuIoAsync(serve.Uri, "write -P 0x11 0 64M");
                await engine.KillAsync();
                await NbdClients.QemuIoAsync(serve.Uri, "write -P 0x22 0 64M");
                await serve.StopAsync();
            }
            catch
            {
                output.WriteLine(serve.Log);
                throw;
            }
        }
        Assert.Equal(DirtyBlocks, await DirtyLeft());
        await engine.RestartAsync(); // from its AOF: the 0x11 data
        await layout.PutStateAsync(etcd, layout.PrimaryClusterId, 0, EngineState.Offline);
        await layout.PutStateAsync(etcd, layout.PrimaryClusterId, 0, EngineState.RepairTmpOutage);

        var paced = new Dictionary<string, string> { ["Storage__RepairBytesPerSecond"] = (4 * MiB).ToString(), ["Storage__CommandTimeout"] = "00:00:02" };
        string[] options = ["--repair-lease-ttl", "2"];
        await using var agentA = await AgentUnderTest.StartAsync(infra, TestNames.Unique("node-a"), Path.Combine(dir.Path, "a"), paced, options);
        await using var agentB = await AgentUnderTest.StartAsync(infra, TestNames.Unique("node-b"), Path.Combine(dir.Path, "b"), paced, options);
        await using var bus = await TestBus.StartAsync(infra);
        var job = new RepairVdisk { Node = agentA.Node, VdiskId = layout.VdiskId, Address = engine.Address, Kind = RepairKind.Tmp, Incident = TestNames.Unique("inc") };
        var childId = ChildCommands.RepairChildId(layout.VdiskId);
        try
        {
            await bus.Bus.Publish(job);
            var orphan = await agentA.WaitForPidAsync(ProcessRole.NbdServer, childId, TimeSpan.FromSeconds(60));
            var ownerA = await VdiskOwnership.ReadAsync(agentA.Etcd, layout.VdiskId, CancellationToken.None);
            await Eventually.ValueAsync(DirtyLeft, left => left <= DirtyBlocks * 3 / 4, TimeSpan.FromSeconds(60));

            var sinceKill = Stopwatch.StartNew();
            await agentA.KillAsync();
            await Eventually.TrueAsync(() => !ProcessState.IsAlive(orphan), TimeSpan.FromSeconds(15), "the orphaned repair process to stop");
            output.WriteLine($"orphaned repair process stopped {sinceKill.Elapsed.TotalSeconds:0.0} s after its agent's SIGKILL (lease TTL 2 s)");
            var orphanLog = File.ReadAllText(agentA.PathsOf(ProcessRole.NbdServer, childId).LogFile);
            Assert.Contains($"vdisk {layout.VdiskId} is no longer owned by this repair job (epoch {ownerA!.Epoch}", orphanLog);
            Assert.DoesNotContain("repair-tmp-outage-complete", orphanLog);
            var left = await DirtyLeft();
            output.WriteLine($"{DirtyBlocks - left} of {DirtyBlocks} blocks copied by the first job, {left} left");
            Assert.InRange(left, 1, DirtyBlocks * 3 / 4);
            Assert.Equal(left, await DirtyLeft()); // nobody copies any more

            await bus.Bus.Publish(job with { Node = agentB.Node });
            var logB = agentB.PathsOf(ProcessRole.NbdServer, childId).LogFile;
            await Eventually.TrueAsync(() => File.Exists(logB) && File.ReadAllText(logB).Contains("repair-tmp-outage-complete"), TimeSpan.FromSeconds(90), "the second job's completion");
            var resumed = File.ReadAllText(logB);
            Assert.Contains($"complete: {left}/{left} blocks", resumed); // only what was left, nothing copied twice
            await Eventually.ValueAsync(() => VdiskOwnership.ReadAsync(agentB.Etcd, layout.VdiskId, CancellationToken.None), o => o is null, TimeSpan.FromSeconds(15));
        }
        finally
        {
            await agentA.DeleteKeysAsync(EtcdKeys.VdiskOwner(layout.VdiskId), EtcdKeys.RepairJob(layout.VdiskId));
        }

        // The returned engine holds exactly its twin's blocks, and the vdisk reads back what the client wrote last.
        Assert.Equal(0, await DirtyLeft());
        Assert.Equal(await BlocksAsync(twinRedis, layout.VdiskId), await BlocksAsync(engineRedis, layout.VdiskId));
        await layout.PutStateAsync(etcd, layout.PrimaryClusterId, 0, EngineState.Online);
        await using var again = await StartServeAsync(infra, layout, dir.File("serve-2.out"));
        await NbdClients.QemuIoAsync(again.Uri, "read -P 0x22 0 64M");
    }

    private static async Task<List<(long Block, string Md5)>> BlocksAsync(ConnectionMultiplexer engine, string vdiskId) =>
        (await engine.GetDatabase().HashGetAllAsync(RedisKeys.Blocks(vdiskId)))
        .Select(e => ((long)e.Name, Convert.ToHexString(System.Security.Cryptography.MD5.HashData((byte[])e.Value!))))
        .OrderBy(b => b.Item1).ToList();

    private static async Task<ServeUnderTest> StartServeAsync(InfrastructureEndpoints infra, VdiskLayout layout, string outFile)
    {
        var port = FreePort.Next();
        var process = NbdHostProcess.Start(["serve", "--id", layout.ServerId, "--listen", $"127.0.0.1:{port}", "--etcd", infra.EtcdEndpoints], outFile,
            new Dictionary<string, string> { ["Storage__CommandTimeout"] = "00:00:02" });
        var serve = new ServeUnderTest(process, NbdClients.TcpUri(port, layout.VdiskId));
        await Eventually.TrueAsync(() => process.Stderr().Contains("listening nbd://"), TimeSpan.FromSeconds(60), "nbdhost serve to listen");
        await Eventually.UntilAsync(async () => (await NbdClients.ListExportsAsync($"nbd://127.0.0.1:{port}")).Contains(layout.VdiskId),
            "nbdhost serve to export the vdisk", TimeSpan.FromSeconds(30));
        return serve;
    }

    private sealed class ServeUnderTest(NbdHostProcess process, string uri) : IAsyncDisposable
    {
        public string Uri => uri;

        /// <summary>Its warnings and errors, for a failure's message.</summary>
        public string Log => string.Join('\n', process.Stderr().Split('\n').Where(l => l.Contains("warn") || l.Contains("fail") || l.Contains("type")).Take(60));

        /// <summary>SIGTERM: a clean stop that hands the vdisk back at once (a crash would hold it for the lease TTL).</summary>
        public async Task StopAsync()
        {
            await ExternalProcess.RunAsync("kill", ["-TERM", process.Pid.ToString()]);
            await Eventually.TrueAsync(() => process.HasExited, TimeSpan.FromSeconds(30), "nbdhost serve to stop");
        }

        public ValueTask DisposeAsync() => process.DisposeAsync();
    }
}
