using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using ZeroDisk.NodeAgent;
using ZeroDisk.ServiceDefaults;

namespace ZeroDisk.NbdHost.Cli;

/// <summary>
/// <c>nbdhost agent --node &lt;name&gt; --log-dir &lt;dir&gt; --etcd &lt;endpoints&gt; …</c>: the node agent.
/// RabbitMQ comes from RABBITMQ_URI.
/// </summary>
public static class AgentCommand
{
    public static Command Create()
    {
        var node = new Option<string>("--node") { Description = "this node's name; commands addressed to it arrive on queue agent-<node>", Required = true };
        var logDir = new Option<string>("--log-dir") { Description = "the node's log stream: one <role>-<id>.log per child", Required = true };
        var etcd = new Option<string>("--etcd") { Description = "etcd endpoints, comma-separated", Required = true };
        var stateDir = new Option<string?>("--state-dir") { Description = "pid and status files of the children (default <log-dir>/../agent-state-<node>)" };
        var storage = new Option<string?>("--storage-address") { Description = "this node's storage-network address, host:port, for repair dispatch" };
        var hook = new Option<string?>("--vm-hook") { Description = "command that restarts a VM; gets the NBD server id ({server} or last argument)" };
        var nbd = new Option<string?>("--nbd-command") { Description = "NBD server command template (default: {self} serve --id {id})" };
        var tlog = new Option<string?>("--tlog-command") { Description = "tlog server command template (default: {self} tlog --id {id} --listen {id} --data {state}/tlog-data)" };
        var repair = new Option<string?>("--repair-command") { Description = "repair-only NBD server template ({vdisk} {address} {kind} {incident} {epoch})" };
        var repairTtl = new Option<int?>("--repair-lease-ttl") { Description = "seconds before a dead agent's repair job can be taken over (default 10)" };
        var command = new Command("agent", "Run the node agent: supervise NBD and tlog servers, run repair jobs, restart VMs")
            { node, logDir, etcd, stateDir, storage, hook, nbd, tlog, repair, repairTtl };
        command.SetAction(async (parse, ct) =>
        {
            var logDirectory = Path.GetFullPath(parse.GetValue(logDir)!);
            var defaults = new AgentOptions { Node = "-", LogDirectory = "-", StateDirectory = "-", EtcdEndpoints = "-" };
            var options = new AgentOptions
            {
                Node = parse.GetValue(node)!,
                LogDirectory = logDirectory,
                StateDirectory = Path.GetFullPath(parse.GetValue(stateDir) ?? Path.Combine(logDirectory, "..", $"agent-state-{parse.GetValue(node)}")),
                EtcdEndpoints = parse.GetValue(etcd)!,
                StorageAddress = parse.GetValue(storage) ?? "",
                VmHook = parse.GetValue(hook),
                NbdServerCommand = parse.GetValue(nbd) ?? defaults.NbdServerCommand,
                TlogServerCommand = parse.GetValue(tlog) ?? defaults.TlogServerCommand,
                RepairCommand = parse.GetValue(repair) ?? defaults.RepairCommand,
                RepairLeaseTtl = parse.GetValue(repairTtl) is { } seconds ? TimeSpan.FromSeconds(seconds) : defaults.RepairLeaseTtl,
            };
            var builder = Host.CreateApplicationBuilder();
            builder.Logging.ClearProviders();
            builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.UseUtcTimestamp = true; o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ "; });
            builder.Services.Configure<ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
            // Traces (the incident's trace runs on into the agent's repair job), health and /metrics on Operations:Url.
            builder.AddServiceDefaults("nbdhost-agent", AgentOptions.DefaultOperationsUrl);
            builder.AddNodeAgent(options);
            using var host = builder.Build();
            await host.RunAsync(ct);
            return 0;
        });
        return command;
    }
}
