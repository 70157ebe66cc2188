using System.CommandLine;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using ZeroDisk.NbdHost.Configuration;
using ZeroDisk.NbdHost.Serving;
using ZeroDisk.NbdHost.Storage;
using ZeroDisk.NbdHost.Tlog;
using ZeroDisk.ServiceDefaults;
using ZeroDisk.ServiceDefaults.Etcd;

namespace ZeroDisk.NbdHost.Cli;

/// <summary><c>nbdhost serve --id &lt;serverID&gt; --listen host:port --etcd endpoints [--unix path]</c>: one NBD server.</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var id = new Option<string>("--id") { Description = "NBD server id: exports the vdisks under <id>:nbdserver:conf:vdisks", Required = true };
        var listen = new Option<string?>("--listen") { Description = "TCP address to listen on, host:port (default 127.0.0.1:10809 unless --unix is given)" };
        var unix = new Option<string?>("--unix") { Description = "Unix socket path to listen on" };
        var etcd = new Option<string?>("--etcd") { Description = $"etcd endpoints, comma-separated (default: ${EtcdExtensions.EndpointsKey})" };
        var command = new Command("serve", "Serve this server's vdisks over NBD from the mirrored Redis storage clusters") { id, listen, unix, etcd };
        command.SetAction(async (result, ct) =>
        {
            var endpoints = result.GetValue(etcd) ?? Environment.GetEnvironmentVariable(EtcdExtensions.EndpointsKey)
                ?? throw new InvalidOperationException($"--etcd or {EtcdExtensions.EndpointsKey} is required");
            var unixPath = result.GetValue(unix);
            var serve = new ServeOptions(result.GetValue(id)!, endpoints, result.GetValue(listen) ?? (unixPath is null ? "127.0.0.1:10809" : null), unixPath);
            var builder = Host.CreateApplicationBuilder();
            builder.AddServiceDefaults("nbdhost-serve");
            builder.AddTlogJournal();
            // Timeouts and sizes may be tuned per deployment, e.g. Storage__CommandTimeout=00:00:00.750.
            builder.AddVdiskStorage(serve, builder.Configuration.GetSection("Storage").Get<StorageOptions>());
            builder.AddNbdListener(serve);
            using var host = builder.Build();
            await host.RunAsync(ct);
            return 0;
        });
        return command;
    }
}
