using System.CommandLine;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ZeroDisk.Storage.Ownership;
using ZeroDisk.Tlog;
using ZeroDisk.ServiceDefaults.Logging;

namespace ZeroDisk.NbdHost.Cli;

/// <summary>
/// <c>nbdhost tlog --listen host:port --data &lt;dir&gt; [--id &lt;id&gt;] [--secret-file &lt;file&gt;] [--etcd &lt;endpoints&gt;]</c>:
/// one tlog server; with a secret, only clients that hold it are served; with etcd, only a vdisk's current owner epoch.
/// </summary>
public static class TlogCommand
{
    public static Command Create()
    {
        var listen = new Option<string>("--listen") { Description = "address to listen on, host:port", Required = true };
        var data = new Option<string>("--data") { Description = "directory of the per-vdisk log files", Required = true };
        var id = new Option<string?>("--id") { Description = "this server's id in logs (defaults to the listen address)" };
        var secretFile = new Option<string?>("--secret-file") { Description = $"the tlog cluster's shared secret (at least 16 bytes); clients must prove they hold it (default: ${TlogSecret.FileKey}, else none)" };
        var etcd = new Option<string?>("--etcd") { Description = "etcd endpoints: appends, queries and reads must present the vdisk's current owner epoch (default: epochs are not checked)" };
        var command = new Command("tlog", "Run a tlog server: logs every block write it is sent, acknowledges after fsync") { listen, data, id, secretFile, etcd };
        command.SetAction(async (parse, ct) =>
        {
            using var logging = StderrLogging.Create();
            var address = parse.GetValue(listen)!;
            var logger = logging.CreateLogger($"tlog[{parse.GetValue(id) ?? address}]");
            var (host, port) = TlogConnection.ParseAddress(address);
            var ip = IPAddress.TryParse(host, out var parsed) ? parsed : (await Dns.GetHostAddressesAsync(host, ct))[0];
            TlogSecret? secret;
            try { secret = TlogSecret.FromFileOrNone(parse.GetValue(secretFile) ?? Environment.GetEnvironmentVariable(TlogSecret.FileKey)); }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException)
            {
                await Console.Error.WriteLineAsync($"invalid configuration: --secret-file: {ex.Message}");
                return 2;
            }
            using var owners = parse.GetValue(etcd) is { Length: > 0 } endpoints ? new EtcdGrpc(endpoints) : null;
            await using var server = new TlogServer(parse.GetValue(data)!, logger, secret, owners is null ? null : new EtcdOwnerEpochs(owners));
            server.Start(new IPEndPoint(ip, port));
            logger.LogInformation("tlog server listening on {Endpoint}, logs in {Data}; clients authenticated: {Secret}; owner epochs checked: {Epochs}",
                server.LocalEndPoint, parse.GetValue(data), secret is not null, owners is not null);
            await Task.Delay(Timeout.Infinite, ct).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            logger.LogInformation("tlog server stopping");
            return 0;
        });
        return command;
    }
}

/// <summary>Log lines of the nbdhost verbs go to stderr: the node agent makes stderr the process's log file.</summary>
internal static class StderrLogging
{
    public static ILoggerFactory Create() => LoggerFactory.Create(builder =>
    {
        builder.AddOneLineConsole(toStandardError: true); // one line per record, control characters escaped
        builder.AddFilter("Microsoft", LogLevel.Warning);
    });
}
