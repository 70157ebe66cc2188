using dotnet_etcd;
using StackExchange.Redis;
using ZeroDisk.Contracts;
using ZeroDisk.LocalStack;
using ZeroDisk.ServiceDefaults.Engines;

namespace ZeroDisk.Drill;

/// <summary>
/// The drill's deployment is set up the way an operator sets one up: with the built <c>zdctl</c> run as a process,
/// through ClusterState's admin API and its token. Nothing here writes an etcd key or an engine key itself.
/// </summary>
public sealed class DrillSetup(DrillStack stack, DrillOptions options, DrillReport report)
{
    // A loaded machine (seven engineers' builds and tests on two cores) can take a minute to answer.
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(180);

    private string Dll => Path.Combine(RepoPaths.Root, "tools", "Zdctl", "bin", options.Configuration, "net10.0", "zdctl.dll");

    /// <summary>Runs <c>zdctl &lt;args&gt;</c> against the drill's ClusterState and records it as a check; true when it exited 0.</summary>
    public async Task<bool> ZdctlAsync(params string[] args)
    {
        var result = await RunAsync(args);
        return report.Check($"zdctl {string.Join(' ', args)}", result.ExitCode == 0, $"exit {result.ExitCode}: {Said(result)}");
    }

    private async Task<ExternalProcess.Result> RunAsync(string[] args) =>
        File.Exists(Dll)
            ? await ExternalProcess.RunAsync("dotnet",
                [Dll, "--api", $"http://127.0.0.1:{stack.AdminPort}/", "--timeout", "120", "--token-file", stack.AdminTokenFile, "--etcd", stack.Endpoints.EtcdEndpoints, "--scope", stack.Id, .. args],
                Deadline)
            : new ExternalProcess.Result(127, "", $"{Dll} is not built");

    private static string Said(ExternalProcess.Result result) =>
        (result.StdOut + result.StdErr).ReplaceLineEndings(" ").Trim() is var said && said.Length > 300 ? said[..300] + "…" : said;

    /// <summary>
    /// The set-up deployment really serves: qemu-io writes a pattern to the vdisk and reads it back; a delete of the
    /// served vdisk is refused (409) and the pattern is still there afterwards.
    /// </summary>
    public async Task CheckServedVdiskAsync(string uri, string vdisk)
    {
        try
        {
            await NbdClients.QemuIoAsync(uri, "write -P 0x5a 0 4M", "write -P 0xa5 1073676288 64k", "read -P 0x5a 0 4M", "read -P 0xa5 1073676288 64k");
            report.Check("qemu-io writes and reads the vdisk zdctl set up", true, $"{uri}: 4 MiB at 0 and 64 KiB at the end, patterns verified");
        }
        catch (InvalidOperationException ex)
        {
            report.Check("qemu-io writes and reads the vdisk zdctl set up", false, ex.Message.ReplaceLineEndings(" "));
            return;
        }
        var delete = await RunAsync(["vdisk", "delete", vdisk]);
        report.Check("deleting the served vdisk is refused (409)", delete.ExitCode == 1 && delete.StdErr.Contains("(409)", StringComparison.Ordinal), $"exit {delete.ExitCode}: {Said(delete)}");
        try
        {
            await NbdClients.QemuIoAsync(uri, "read -P 0x5a 0 4M", "read -P 0xa5 1073676288 64k");
            report.Check("its data untouched by the refused delete", true, "patterns verified again");
        }
        catch (InvalidOperationException ex)
        {
            report.Check("its data untouched by the refused delete", false, ex.Message.ReplaceLineEndings(" "));
        }
    }

    /// <summary>Primary and slave storage clusters from the drill's engines, their identity markers registered.</summary>
    public async Task<bool> ClustersAsync(EtcdClient etcd)
    {
        var created = await ZdctlAsync(["cluster", "create", stack.PrimaryCluster, .. stack.Engines.Primary.Select(e => e.Address)])
                      & await ZdctlAsync(["cluster", "create", stack.SlaveCluster, .. stack.Engines.Slave.Select(e => e.Address)]);
        var mismatches = new List<string>();
        foreach (var engine in stack.Engines.Primary.Concat(stack.Engines.Slave))
        {
            await using var redis = await EngineConnection.ConnectAsync(engine.Address);
            var onEngine = (string?)await redis.GetDatabase().StringGetAsync(EngineIdentity.RedisKey);
            var inEtcd = (await etcd.GetAsync(EtcdKeys.EngineIdentity(engine.Address))).Kvs.FirstOrDefault()?.Value.ToStringUtf8();
            if (onEngine is null || onEngine != inEtcd) mismatches.Add($"{engine.Address}: engine '{onEngine}', etcd '{inEtcd}'");
        }
        report.Check("every engine carries the identity marker etcd registers", created && mismatches.Count == 0,
            mismatches.Count == 0 ? $"{stack.Engines.Primary.Count + stack.Engines.Slave.Count} engines" : string.Join("; ", mismatches));
        return created && mismatches.Count == 0;
    }
}
