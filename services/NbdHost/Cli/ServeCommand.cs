using System.CommandLine;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using ZeroDisk.NbdHost.Configuration;
using ZeroDisk.Storage.Failover;
using ZeroDisk.Storage.Ownership;
using ZeroDisk.NbdHost.RepairOnly;
using ZeroDisk.NbdHost.Serving;
using ZeroDisk.Storage;
using ZeroDisk.Tlog;
using ZeroDisk.ServiceDefaults;
using ZeroDisk.ServiceDefaults.Etcd;
using ZeroDisk.ServiceDefaults.Logging;
using ZeroDisk.ServiceDefaults.Operations;
using ZeroDisk.ServiceDefaults.Options;

namespace ZeroDisk.NbdHost.Cli;

/// <summary>
/// <c>nbdhost serve --id &lt;serverID&gt; --listen host:port --etcd endpoints [--unix path]</c>: one NBD server; or, with
/// <c>--repair &lt;vdisk&gt; --engine &lt;address&gt;</c>, a repair-only server for a vdisk nobody serves (started by an agent).
/// </summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var id = new Option<string?>("--id") { Description = "NBD server id: exports the vdisks under <id>:nbdserver:conf:vdisks (required unless --repair)" };
        var listen = new Option<string?>("--listen") { Description = "TCP address to listen on, host:port (default 127.0.0.1:10809 unless --unix is given)" };
        var unix = new Option<string?>("--unix") { Description = "Unix socket path to listen on" };
        var etcd = new Option<string?>("--etcd") { Description = $"etcd endpoints, comma-separated (default: ${EtcdExtensions.EndpointsKey})" };
        var repair = new Option<string?>("--repair") { Description = "repair-only: repair this vdisk (no NBD clients), exit when done" };
        var engine = new Option<string?>("--engine") { Description = "repair-only: the engine being repaired, host:port" };
        var kind = new Option<string?>("--kind") { Description = "repair-only: tmp or final" };
        var incident = new Option<string?>("--incident") { Description = "repair-only: the incident the repair belongs to" };
        var epoch = new Option<long>("--epoch") { Description = "repair-only: the owner epoch the agent holds" };
        // Many servers run on a node, so none listens by default; the agent's command template gives each its own.
        var operations = new Option<string?>("--operations-url") { Description = "where to answer /health/live, /health/ready and /metrics, e.g. http://0.0.0.0:9109 (default: Operations__Url, else none)" };
        var command = new Command("serve", "Serve this server's vdisks over NBD from the mirrored Redis storage clusters")
            { id, listen, unix, etcd, repair, engine, kind, incident, epoch, operations };
        command.Validators.Add(r =>
        {
            if (r.GetValue(repair) is null && r.GetValue(id) is null) r.AddError("--id is required (or --repair <vdisk> for a repair-only server)");
            if (r.GetValue(repair) is not null && r.GetValue(engine) is null) r.AddError("--repair needs --engine <host:port>");
        });
        command.SetAction(async (result, ct) =>
        {
            var endpoints = result.GetValue(etcd) ?? Environment.GetEnvironmentVariable(EtcdExtensions.EndpointsKey)
                ?? throw new InvalidOperationException($"--etcd or {EtcdExtensions.EndpointsKey} is required");
            var unixPath = result.GetValue(unix);
            var job = result.GetValue(repair) is { } vdisk
                ? new RepairOnlyJob(vdisk, result.GetValue(engine)!, result.GetValue(kind) ?? "tmp", result.GetValue(incident), result.GetValue(epoch))
                : null;
            var serve = new ServeOptions(result.GetValue(id) ?? $"repair-{job!.VdiskId}", endpoints,
                job is null ? result.GetValue(listen) ?? (unixPath is null ? "127.0.0.1:10809" : null) : null, job is null ? unixPath : null) { RepairOnly = job };
            var builder = Host.CreateApplicationBuilder();
            if (result.GetValue(operations) is { } operationsUrl) builder.Configuration[OperationsExtensions.UrlKey] = operationsUrl;
            builder.AddServiceDefaults("nbdhost-serve");
            // One line per record, control characters escaped: this output is the node's log stream (events cannot be forged).
            builder.Logging.AddOneLineConsole();
            if (job is not null)
            {
                builder.Services.AddSingleton(job);
                builder.Services.AddSingleton<IStderrEvents, RepairOnlyCompletion>();
                builder.Services.AddHostedService<RepairOnlyWatchdog>();
            }
            builder.AddTlogJournal();
            builder.AddVdiskStorage(serve);
            if (job is null) builder.AddNbdListener(serve);
            var exit = await InvalidConfiguration.RunAsync(builder.Build, ct);
            return exit != 0 ? exit : Environment.ExitCode; // 0 unless a repair-only job lost its vdisk (RepairOnlyWatchdog)
        });
        return command;
    }
}
